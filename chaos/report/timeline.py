"""The run as one inline SVG figure (no plotting library, no script), sharing one time axis:

- requests per second, stacked by answer class (app, fallback, shed, error, timeout, refused), by intended
  send time;
- availability, with the baseline's level and the level a fault's impact window waits for;
- latency p50 / p95 / p99 on a log scale, with the baseline's p50-p99 band and its p95;
- the baseline window and each fault's impact window shaded on every chart (the outage inside it hatched),
  labelled above with their figures;
- steps as lanes underneath, a fault's span (injected -> reverted) in its step's lane.

Drawn from `summary["series"]`; an old journal without one falls back on `summary["timeline"]` (samples of
availability and p95 only).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from chaos.report import svg
from chaos.report.figures import compact, figure, number, seconds, sig3
from chaos.report.svg import Scale

CLASSES = ("app", "fallback", "shed", "error", "timeout", "refused")
COLOURS = {"app": "#43a047", "fallback": "#1e88e5", "shed": "#fbc02d", "error": "#e53935", "timeout": "#8e24aa",
           "refused": "#5d4037", "sent": "#90a4ae"}
MEANING = {"app": "served by the app", "fallback": "served by the static fallback",
           "shed": "turned away by admission control (waiting room)", "error": "an error answer (5xx)",
           "timeout": "no answer in time", "refused": "connection refused or reset", "sent": "all requests"}
LATENCY = {"p50_ms": "#64b5f6", "p95_ms": "#1565c0", "p99_ms": "#7e57c2"}

W, LEFT, RIGHT = 960, 74, 24
ROW_H, TITLE_H, GAP, LANE_H = 18, 22, 16, 17
RPS_H, AV_H, LAT_H = 170, 110, 150

STYLE = (
    ".bg{fill:#fff}.frame{fill:none;stroke:#bbb}.grid{stroke:#eee}.tick{font:10px sans-serif;fill:#555}"
    ".title{font:600 12px sans-serif;fill:#222}.legend{font:11px sans-serif;fill:#333}"
    ".note{font:11px sans-serif;fill:#333}.lane{font:10px sans-serif;fill:#222}"
    ".lane-note{font:10px sans-serif;fill:#555}"
    ".baseline-window{fill:#e3f2fd}.impact{fill:#ffe0b2;opacity:.6}.outage{fill:url(#outage-hatch)}"
    ".baseline-bar{fill:#64b5f6}.impact-bar{fill:#fb8c00}.impact-label{font:600 11px sans-serif;fill:#e65100}"
    ".baseline-label{font:11px sans-serif;fill:#1565c0}"
    ".halo{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}"
    ".fault{fill:#ef9a9a;opacity:.55}.inject{stroke:#c62828;stroke-width:1.2;stroke-dasharray:4 3}"
    ".revert{stroke:#2e7d32;stroke-width:1.2;stroke-dasharray:4 3}.ok{fill:#90caf9}.bad{fill:#e57373}"
    ".availability{fill:none;stroke:#2e7d32;stroke-width:1.8}"
    ".base-line{stroke:#1565c0;stroke-width:1.2;stroke-dasharray:6 3}.level{stroke:#e65100;stroke-dasharray:2 3}"
    ".base-band{fill:#1565c0;opacity:.08}.level-label{font:10px sans-serif;fill:#e65100}"
    + "".join(f".lat.{k[:3]}{{fill:none;stroke:{c};stroke-width:1.6}}" for k, c in LATENCY.items())
    + "".join(f".cls-{k}{{fill:{c}}}" for k, c in COLOURS.items())
    + "".join(f".lat-key-{k[:3]}{{fill:{c}}}" for k, c in LATENCY.items())
    + ".base-key{fill:#1565c0;opacity:.25}"
)
DEFS = ('<defs><pattern id="outage-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffcdd2" opacity=".5"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#c62828" stroke-width="1.6" opacity=".45"/></pattern></defs>')


@dataclass(frozen=True)
class Row:
    """One step of the load: [t0, t1) in seconds since the run started."""

    t0: float
    t1: float
    sent: int
    by_class: Mapping[str, int]
    values: Mapping[str, float | None] = field(default_factory=dict)  # availability, p50_ms, p95_ms, p99_ms


def rows_of(summary: Mapping[str, Any], most: int = 900) -> tuple[list[Row], bool]:
    """The load's rows and whether they carry answer classes (a `series`) or only totals (old `timeline`).

    More than `most` rows (a long run) are merged in runs of equal length, so the figure stays small."""
    keys = ("availability", "p50_ms", "p95_ms", "p99_ms")
    series = summary.get("series") or []
    if series:
        step = summary.get("series_step_s") or 1.0
        rows = [Row(r["t_s"], r["t_s"] + step, r.get("sent") or 0, r.get("by_class") or {},
                    {k: r.get(k) for k in keys}) for r in series]
        size = math.ceil(len(rows) / most)
        return (rows if size <= 1 else [merge(rows[i:i + size]) for i in range(0, len(rows), size)]), True
    rows, prev = [], 0.0
    for s in summary.get("timeline") or []:
        t0 = prev if s["t_s"] > prev else s["t_s"] - 1.0
        rows.append(Row(t0, s["t_s"], s.get("requests") or 0, {}, {k: s.get(k) for k in keys}))
        prev = s["t_s"]
    return rows, False


def merge(rows: Sequence[Row]) -> Row:
    """Consecutive rows as one: counts added, availability weighted by requests sent, each percentile the
    worst of the rows (a percentile of the merged requests is not known; the plot must not hide a spike)."""
    sent = sum(r.sent for r in rows)
    by_class = {k: sum(r.by_class.get(k, 0) for r in rows) for k in CLASSES}
    avail = [(a, r.sent) for r in rows if (a := r.values.get("availability")) is not None]
    values: dict[str, float | None] = {
        "availability": sum(a * n for a, n in avail) / sum(n for _, n in avail) if sum(n for _, n in avail) else None}
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        known = [v for r in rows if (v := r.values.get(key)) is not None]
        values[key] = max(known) if known else None
    return Row(rows[0].t0, rows[-1].t1, sent, by_class, values)


@dataclass(frozen=True)
class Axes:
    """Scales fixed from outside, so two runs' timelines share them (a comparison page): seconds since each
    run's start, requests per second, and the latency range in ms."""

    t_max: float
    rps_max: float
    ms_lo: float
    ms_hi: float


def _rates(rows: Sequence[Row]) -> list[float]:
    return [r.sent / (r.t1 - r.t0) if r.t1 > r.t0 else 0.0 for r in rows]


def _latencies(rows: Sequence[Row], baseline: Mapping[str, Any] | None) -> list[float]:
    values = [v for r in rows for k in LATENCY if (v := r.values.get(k)) is not None and v > 0]
    return values + [v for k in ("p50_ms", "p95_ms", "p99_ms") if (v := (baseline or {}).get(k)) is not None and v > 0]


def _t_max(summary: Mapping[str, Any], rows: Sequence[Row]) -> float:
    steps = [s for s in summary.get("steps", []) if s.get("start_t_s") is not None]
    return max([summary["metrics"].get("run_duration_s") or 0.0, *(r.t1 for r in rows),
                *(s["start_t_s"] + (s["duration_s"] or 0) for s in steps),
                *(f["reverted_t_s"] or 0 for f in summary.get("faults", [])), 1.0])


def shared_axes(summaries: Sequence[Mapping[str, Any]]) -> Axes:
    """Axes wide enough for every one of these runs."""
    rows = [rows_of(s)[0] for s in summaries]
    values = [v for s, r in zip(summaries, rows, strict=True) for v in _latencies(r, s.get("baseline"))]
    return Axes(t_max=max(_t_max(s, r) for s, r in zip(summaries, rows, strict=True)),
                rps_max=max([1.0, *(v for r in rows for v in _rates(r))]),
                ms_lo=min(values, default=1.0), ms_hi=max(values, default=1000.0))


@dataclass
class Figure:
    """The timeline being drawn: the summary, its load rows, the time scale, and the SVG parts so far."""
    summary: Mapping[str, Any]
    rows: list[Row]
    classes: bool
    x: Scale
    parts: list[str] = field(default_factory=list)
    axes: Axes | None = None

    @property
    def baseline(self) -> Mapping[str, Any] | None:
        return self.summary.get("baseline")

    def impacts(self) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        """Each fault with a measured impact, and that impact."""
        return [(f, f["impact"]) for f in self.summary.get("faults", []) if f.get("impact")]

    def span(self, t0: float | None, t1: float | None) -> tuple[float, float]:
        """The pixels from `t0` to `t1` (seconds since the start; None: the end)."""
        return self.x(t0 or 0.0), self.x(t1 if t1 is not None else self.x.hi)


def timeline_svg(summary: Mapping[str, Any], axes: Axes | None = None) -> str:
    """The whole timeline of the run as one inline SVG; `axes`: scales shared with other runs' timelines."""
    rows, classes = rows_of(summary)
    t_max = axes.t_max if axes is not None else _t_max(summary, rows)
    fig = Figure(summary, rows, classes, Scale(0.0, t_max, LEFT, W - RIGHT), axes=axes)
    y = 8.0
    y = _annotations(fig, y)
    charts_top = y
    y = _rps_chart(fig, y + TITLE_H) + GAP
    y = _availability_chart(fig, y + TITLE_H) + GAP
    y = _latency_chart(fig, y + TITLE_H) + GAP
    y = _lanes(fig, y, charts_top)
    y = _time_axis(fig, y)
    y = _shading_legend(fig, y + 8)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {math.ceil(y + 6)}" width="100%" '
            f'role="img" aria-label="the run over time: load by class, availability, latency, faults and steps">'
            f"<style>{STYLE}</style>{DEFS}" f'<rect width="{W}" height="{math.ceil(y + 6)}" class="bg"/>')
    return head + "".join(fig.parts) + "</svg>"


# ---- labels over the charts ---------------------------------------------------------------------------------------

def _label(fig: Figure, x1: float, x2: float, y: float, content: str, cls: str, bar: str) -> None:
    """A bar over [x1, x2] with its label above it, kept inside the frame."""
    fig.parts.append(svg.rect(x1, y + ROW_H - 5, x2, 3, bar, min_w=2))
    width = svg.text_width(content)
    if x1 + width <= W - RIGHT:
        fig.parts.append(svg.text(x1, y + ROW_H - 8, content, cls))
    else:
        fig.parts.append(svg.text(max(x2, LEFT + width), y + ROW_H - 8, content, cls, anchor="end"))


def _annotations(fig: Figure, y: float) -> float:
    b = fig.baseline
    if b and b.get("t0_s") is not None:
        x1, x2 = fig.span(b["t0_s"], b["t1_s"])
        text = (f"baseline {seconds(_dur(b['t0_s'], b['t1_s']))}: {figure('availability', b.get('availability'))}"
                f" served, p95 {figure('p95_ms', b.get('p95_ms'))}, {number(b.get('rps'), 'req/s')}")
        _label(fig, x1, x2, y, text, "baseline-label halo", "baseline-bar")
        y += ROW_H
    for fault, impact in fig.impacts():
        x1, x2 = fig.span(impact.get("t0_s"), impact.get("t1_s"))
        window = seconds(impact.get("impact_window_s")) if impact.get("recovered") else (
            f"≥ {seconds(_dur(impact.get('t0_s'), fig.x.hi))}, not recovered")
        served = figure("impact_availability", impact.get("impact_availability"))
        text = f"{fault['step_id']} impact {window}: {served} served, outage {seconds(impact.get('outage_s'))}"
        fig.parts.append(f'<g class="impact-note" data-step="{escape(fault["step_id"])}">')
        _label(fig, x1, x2, y, text, "impact-label halo", "impact-bar")
        fig.parts.append("</g>")
        y += ROW_H
    return y


def _dur(t0: float | None, t1: float | None) -> float | None:
    return None if t0 is None or t1 is None else t1 - t0


def _bands(fig: Figure, top: float, height: float) -> None:
    """The baseline window, impact windows and outages shaded over one chart."""
    b = fig.baseline
    if b and b.get("t0_s") is not None:
        x1, x2 = fig.span(b["t0_s"], b["t1_s"])
        fig.parts.append(svg.rect(x1, top, x2, height, "baseline-window", "baseline window"))
    for fault, impact in fig.impacts():
        x1, x2 = fig.span(impact.get("t0_s"), impact.get("t1_s"))
        tip = (f"{fault['step_id']}: impact window {seconds(impact.get('impact_window_s'))}, "
               f"{figure('impact_availability', impact.get('impact_availability'))} served")
        fig.parts.append(svg.rect(x1, top, x2, height, "impact", tip, min_w=1,
                                  extra=f' data-step="{escape(fault["step_id"])}"'))
        if impact.get("outage_t0_s") is not None and impact.get("outage_s"):
            o1, o2 = fig.span(impact["outage_t0_s"], impact.get("outage_t1_s"))
            fig.parts.append(svg.rect(o1, top, o2, height, "outage",
                                      f"{fault['step_id']}: outage {seconds(impact['outage_s'])}", min_w=1))


def _frame(fig: Figure, top: float, height: float, title: str, legend: Sequence[tuple[str, str, str]]) -> None:
    """Title, legend (swatch class, label, tooltip), shaded windows, vertical grid."""
    fig.parts.append(svg.text(LEFT, top - 7, title, "title"))
    x = LEFT + svg.text_width(title, 13) + 18
    for cls, label, tip in legend:
        fig.parts.append(f'<g class="key"><title>{escape(tip)}</title>')
        fig.parts.append(svg.rect(x, top - 16, x + 11, 10, cls))
        fig.parts.append(svg.text(x + 15, top - 7, label, "legend"))
        fig.parts.append("</g>")
        x += 15 + svg.text_width(label) + 12
    _bands(fig, top, height)
    for t in svg.ticks(0, fig.x.hi, 10):
        fig.parts.append(svg.line(fig.x(t), top, fig.x(t), top + height, "grid"))


def _y_ticks(fig: Figure, top: float, height: float, y: Scale, values: Sequence[float], label: Any) -> None:
    for v in values:
        fig.parts.append(svg.line(LEFT, y(v), W - RIGHT, y(v), "grid"))
        fig.parts.append(svg.text(LEFT - 6, y(v) + 3.5, label(v), "tick", anchor="end"))


# ---- the charts ---------------------------------------------------------------------------------------------------

def _rps_chart(fig: Figure, top: float) -> float:
    names = CLASSES if fig.classes else ("sent",)
    legend = [(f"cls-{n}", n, MEANING[n]) for n in names]
    title = "Requests per second, by answer" if fig.classes else "Requests per second"
    _frame(fig, top, RPS_H, title, legend)
    top_rate = fig.axes.rps_max if fig.axes is not None else max([*_rates(fig.rows), 1.0])
    y = Scale(0.0, svg.nice_max(top_rate * 1.05), top + RPS_H, top)
    _y_ticks(fig, top, RPS_H, y, svg.ticks(0, y.hi, 4), compact)
    fig.parts.append(svg.text(LEFT - 6, top - 7, "req/s", "tick", anchor="end"))
    lower = [0.0] * len(fig.rows)
    for name in names:
        upper = [lo + (r.sent if name == "sent" else r.by_class.get(name, 0)) / max(r.t1 - r.t0, 1e-9)
                 for lo, r in zip(lower, fig.rows, strict=True)]
        top_edge = [pt for r, u in zip(fig.rows, upper, strict=True) for pt in _step(fig, r, y(u))]
        bottom = [pt for r, lo in zip(fig.rows, lower, strict=True) for pt in _step(fig, r, y(lo))]
        total = sum(r.sent if name == "sent" else r.by_class.get(name, 0) for r in fig.rows)
        fig.parts.append(svg.polygon(top_edge + bottom[::-1], f"cls-{name}", f"{name}: {total} requests",
                                     extra=f' data-class="{name}"') if fig.rows else
                         f'<polygon points="" class="cls-{name}" data-class="{name}"/>')
        lower = upper
    fig.parts.append(svg.rect(LEFT, top, W - RIGHT, RPS_H, "frame"))
    return top + RPS_H


def _step(fig: Figure, r: Row, y: float) -> tuple[tuple[float, float], tuple[float, float]]:
    return (fig.x(r.t0), y), (fig.x(r.t1), y)


def _segments(fig: Figure, key: str, y: Scale, steps: bool) -> list[list[tuple[float, float]]]:
    """Points of one series, split where it has no value (a gap must show)."""
    out: list[list[tuple[float, float]]] = [[]]
    for r in fig.rows:
        v = r.values.get(key)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if out[-1]:
                out.append([])
            continue
        out[-1] += [(fig.x(r.t0), y(v)), (fig.x(r.t1), y(v))] if steps else [(fig.x((r.t0 + r.t1) / 2), y(v))]
    return [s for s in out if s]


def _availability_chart(fig: Figure, top: float) -> float:
    _frame(fig, top, AV_H, "Availability (served / tried)", [])
    y = Scale(0.0, 1.0, top + AV_H, top + 5)  # room above 100 % so the line does not hide in the frame
    _y_ticks(fig, top, AV_H, y, (0.0, 0.5, 1.0), lambda v: f"{compact(v * 100)} %")
    b = fig.baseline
    if b and b.get("availability") is not None:
        fig.parts.append(svg.line(LEFT, y(b["availability"]), W - RIGHT, y(b["availability"]), "base-line"))
        label = f"baseline {figure('availability', b['availability'])}"
        fig.parts.append(svg.text(W - RIGHT - 4, y(b["availability"]) + 12, label, "baseline-label halo", "end"))
    levels = {i["level"]: i.get("hold_s") for _, i in fig.impacts() if i.get("level") is not None}
    for level, hold in sorted(levels.items()):
        fig.parts.append(svg.line(LEFT, y(level), W - RIGHT, y(level), "level"))
        fig.parts.append(svg.text(LEFT + 4, y(level) + 12, f"an impact window ends once ≥ "
                                  f"{figure('availability', level)} for {seconds(hold)}", "level-label halo"))
    for points in _segments(fig, "availability", y, steps=True):
        fig.parts.append(svg.polyline(points, "availability", "availability"))
    fig.parts.append(svg.rect(LEFT, top, W - RIGHT, AV_H, "frame"))
    return top + AV_H


def _ms(v: float, digits: Any = sig3) -> str:
    return f"{digits(v / 1000)} s" if v >= 1000 else f"{digits(v)} ms"


def _latency_chart(fig: Figure, top: float) -> float:
    keys = [k for k in LATENCY if any(r.values.get(k) is not None for r in fig.rows)] or ["p95_ms"]
    b = fig.baseline or {}
    legend = [(f"lat-key-{k[:3]}", k[:3], f"{k[:3]} latency of the requests sent in each second") for k in keys]
    if b.get("p95_ms") is not None:
        legend.append(("base-key", "baseline p50 to p99, p95 dashed", "the baseline window's latency"))
    _frame(fig, top, LAT_H, "Latency (log scale)", legend)
    values = _latencies(fig.rows, b) if fig.axes is None else [fig.axes.ms_lo, fig.axes.ms_hi]
    lo = 10 ** math.floor(math.log10(min(values))) if values else 1.0
    y = Scale(lo, max(max(values, default=1000.0) * 1.3, lo * 10), top + LAT_H, top, log=True)
    decades = [10 ** e for e in range(round(math.log10(y.lo)), math.floor(math.log10(y.hi)) + 1)]
    _y_ticks(fig, top, LAT_H, y, decades, lambda v: _ms(v, compact))
    if b.get("p50_ms") and b.get("p99_ms"):
        fig.parts.append(svg.rect(LEFT, y(b["p99_ms"]), W - RIGHT, y(b["p50_ms"]) - y(b["p99_ms"]), "base-band",
                                  f"baseline p50 {_ms(b['p50_ms'])} to p99 {_ms(b['p99_ms'])}"))
    if b.get("p95_ms"):
        fig.parts.append(svg.line(LEFT, y(b["p95_ms"]), W - RIGHT, y(b["p95_ms"]), "base-line"))
        fig.parts.append(svg.text(W - RIGHT - 4, y(b["p95_ms"]) - 4, f"baseline p95 {_ms(b['p95_ms'])}",
                                  "baseline-label halo", "end"))
    for key in keys:
        for points in _segments(fig, key, y, steps=False):
            fig.parts.append(svg.polyline(points, f"lat {key[:3]}", key[:3]))
    fig.parts.append(svg.rect(LEFT, top, W - RIGHT, LAT_H, "frame"))
    return top + LAT_H


# ---- steps, faults, axis ------------------------------------------------------------------------------------------

def _lanes(fig: Figure, top: float, charts_top: float) -> float:
    steps = [s for s in fig.summary.get("steps", []) if s.get("start_t_s") is not None]
    lanes: list[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]] = [
        (s["step_id"], s, None) for s in steps]
    for fault in fig.summary.get("faults", []):
        i = next((i for i, (_, s, _) in enumerate(lanes) if s and s["phase"] == "steps"
                  and s["step_id"] == fault["step_id"]), None)
        if i is None:
            lanes.append((fault["step_id"], None, fault))
        else:
            lanes[i] = (lanes[i][0], lanes[i][1], fault)
    fig.parts.append(svg.text(LEFT, top + 8, "Steps (a fault's span from injection to revert shaded red)", "title"))
    top += 16
    for i, (label, step, fault) in enumerate(lanes):
        y = top + i * LANE_H
        notes, spans = [], []
        if fault is not None:
            x1, x2 = fig.span(fault["injected_t_s"], fault.get("reverted_t_s"))
            reverted = fault.get("reverted_t_s") is not None
            fig.parts.append(svg.rect(x1, y, x2, LANE_H - 3, "fault", f"{fault['fault']} ({fault['step_id']})",
                                      min_w=1))
            fig.parts.append(svg.line(x1, charts_top, x1, y + LANE_H, "inject"))
            if reverted:
                fig.parts.append(svg.line(x2, charts_top, x2, y + LANE_H, "revert"))
            notes.append(f"{fault['fault']} " + (f"reverted by {fault['reverted_by']} at "
                                                   f"{seconds(fault['reverted_t_s'])}" if reverted else "NOT REVERTED"))
            spans.append((x1, x2))
        if step is not None:
            x1 = fig.x(step["start_t_s"])
            x2 = max(fig.x(step["start_t_s"] + (step["duration_s"] or 0)), x1 + 2)
            cls = "bad" if step["ok"] is False else "ok"
            fig.parts.append(svg.rect(x1, y + 2, x2, LANE_H - 7, cls, step.get("description") or "", min_w=2))
            notes.insert(0, seconds(step["duration_s"]) + ("" if step["ok"] is not False else " FAILED"))
            spans.insert(0, (x1, x2))
        fig.parts.append(svg.text(LEFT - 6, y + 10, label[:12], "lane", anchor="end"))
        _lane_note(fig, ", ".join(notes), spans, y + 10)
    return top + LANE_H * max(len(lanes), 1)


def _lane_note(fig: Figure, note: str, spans: Sequence[tuple[float, float]], y: float) -> None:
    """The note after the bars if it fits, else inside the fault's span after the step's bar, else before."""
    if not spans:
        return
    width = svg.text_width(note, 10)
    start, end = min(a for a, _ in spans), max(b for _, b in spans)
    inner = spans[0][1] if len(spans) > 1 else start
    if end + 4 + width <= W - RIGHT:
        fig.parts.append(svg.text(end + 4, y, note, "lane-note halo"))
    elif inner + 4 + width <= end:
        fig.parts.append(svg.text(inner + 4, y, note, "lane-note halo"))
    elif start - 4 - width >= LEFT:
        fig.parts.append(svg.text(start - 4, y, note, "lane-note halo", anchor="end"))
    else:
        fig.parts.append(svg.text(inner + 4, y, note, "lane-note halo"))


def _time_axis(fig: Figure, top: float) -> float:
    fig.parts.append(svg.line(LEFT, top + 2, W - RIGHT, top + 2, "frame"))
    for t in svg.ticks(0, fig.x.hi, 10):
        fig.parts.append(svg.line(fig.x(t), top + 2, fig.x(t), top + 6, "frame"))
        fig.parts.append(svg.text(fig.x(t), top + 17, f"{compact(t)} s", "tick", anchor="middle"))
    fig.parts.append(svg.text(W - RIGHT, top + 30, "time since the run started (requests by intended send time)",
                              "tick", anchor="end"))
    return top + 30


def _shading_legend(fig: Figure, top: float) -> float:
    keys = [("baseline-window", "baseline window"), ("impact", "impact window (injection → recovered)"),
            ("outage", "outage (< 50 % served)"), ("fault", "fault injected → reverted")]
    x: float = LEFT
    for cls, label in keys:
        fig.parts.append(svg.rect(x, top, x + 14, 10, cls))
        fig.parts.append(svg.text(x + 18, top + 9, label, "legend"))
        x += 18 + svg.text_width(label) + 16
    return top + 12
