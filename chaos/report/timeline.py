"""The timeline plot as inline SVG (no plotting library needed): availability and p95 latency over time,
fault spans shaded red, steps as bands underneath."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

W, LEFT, RIGHT, TOP = 900, 60, 20, 20
CHART_H, GAP, LANE_H = 150, 30, 16


def _x(t: float, t_max: float) -> float:
    return LEFT + (W - LEFT - RIGHT) * (t / t_max if t_max > 0 else 0)


def _polyline(points: Sequence[tuple[float, float]], color: str) -> str:
    if not points:
        return ""
    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.8" points="{pts}"/>'


def _chart(
    samples: Sequence[Mapping[str, Any]], key: str, top: float, t_max: float, y_max: float, label: str, color: str,
    fmt: str,
) -> list[str]:
    out = [f'<rect x="{LEFT}" y="{top}" width="{W - LEFT - RIGHT}" height="{CHART_H}" class="frame"/>',
           f'<text x="{LEFT}" y="{top - 6}" class="title">{escape(label)}</text>']
    for frac in (0.0, 0.5, 1.0):
        y = top + CHART_H * (1 - frac)
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{fmt.format(y_max * frac)}'
                   "</text>")
    points = [
        (_x(s["t_s"], t_max), top + CHART_H * (1 - min(s[key], y_max) / y_max))
        for s in samples if s.get(key) is not None and y_max > 0
    ]
    out.append(_polyline(points, color))
    return out


def timeline_svg(summary: Mapping[str, Any]) -> str:
    samples = summary.get("timeline") or []
    steps = [s for s in summary.get("steps", []) if s.get("start_t_s") is not None]
    t_end = summary["metrics"].get("run_duration_s") or 0.0
    t_max = max([t_end, *(s["t_s"] for s in samples), *(s["start_t_s"] + (s["duration_s"] or 0) for s in steps), 1.0])
    lat_max = max([s["p95_ms"] for s in samples if s.get("p95_ms") is not None] or [1.0]) * 1.1
    top2 = TOP + CHART_H + GAP
    lanes_top = top2 + CHART_H + GAP
    height = lanes_top + LANE_H * max(len(steps), 1) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" width="100%" role="img" '
             'aria-label="timeline">',
             "<style>.frame{fill:#fff;stroke:#999}.grid{stroke:#eee}.tick{font:10px sans-serif;fill:#555}"
             ".title{font:12px sans-serif;fill:#222}.fault{fill:#e53935;opacity:.15}"
             ".lane{font:10px sans-serif;fill:#222}.ok{fill:#90caf9}.bad{fill:#ef9a9a}</style>"]
    for fault in summary.get("faults", []):
        x1 = _x(fault["injected_t_s"], t_max)
        x2 = _x(fault["reverted_t_s"] if fault["reverted_t_s"] is not None else t_max, t_max)
        parts.append(f'<rect x="{x1:.1f}" y="{TOP}" width="{max(x2 - x1, 1):.1f}" height="{lanes_top - TOP - GAP}" '
                     f'class="fault"><title>{escape(fault["fault"])} ({escape(fault["step_id"])})</title></rect>')
    parts += _chart(samples, "availability", TOP, t_max, 1.0, "availability", "#2e7d32", "{:.0%}")
    parts += _chart(samples, "p95_ms", top2, t_max, lat_max, "p95 latency (ms)", "#1565c0", "{:.0f}")
    for i, step in enumerate(steps):
        y = lanes_top + i * LANE_H
        x1 = _x(step["start_t_s"], t_max)
        x2 = _x(step["start_t_s"] + (step["duration_s"] or 0), t_max)
        cls = "bad" if step["ok"] is False else "ok"
        parts.append(f'<rect x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 2):.1f}" height="{LANE_H - 3}" class="{cls}">'
                     f'<title>{escape(step["description"])}</title></rect>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 10}" class="lane" text-anchor="end">'
                     f'{escape(step["step_id"][:9])}</text>')
    axis_y = lanes_top + LANE_H * max(len(steps), 1) + 14
    for i in range(6):
        t = t_max * i / 5
        parts.append(f'<text x="{_x(t, t_max):.1f}" y="{axis_y}" class="tick" text-anchor="middle">{t:.0f} s</text>')
    parts.append("</svg>")
    return "".join(parts)
