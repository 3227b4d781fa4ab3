"""Small SVG pieces for the report's charts (no plotting library): scales, nice ticks, shapes, text."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Scale:
    """Maps a domain [lo, hi] onto a pixel range [a, b] (b < a for a y axis); `log` for latencies."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def __call__(self, v: float) -> float:
        lo, hi, v = (math.log10(self.lo), math.log10(self.hi), math.log10(max(v, self.lo))) if self.log else (
            self.lo, self.hi, v)
        frac = (v - lo) / (hi - lo) if hi > lo else 0.0
        return self.a + (self.b - self.a) * min(max(frac, 0.0), 1.0)


def nice_step(span: float, count: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)


def nice_max(value: float) -> float:
    """The smallest round number (1, 2, 2.5, 5 ... times a power of ten) at least `value`: the top of a linear axis."""
    if value <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(value))
    return next(m * mag for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * mag >= value * 0.999)


def ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values from `lo` to `hi`, about `count` of them."""
    step = nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 9) for i in range(int((hi - first) / step + 1e-9) + 1)]


def f1(v: float) -> str:
    """A coordinate to one decimal: the SVG stays small."""
    return f"{v:.1f}"


def rect(x1: float, y: float, x2: float, h: float, cls: str, title: str = "", min_w: float = 0.0,
         extra: str = "") -> str:
    """A rectangle from `x1` to `x2` (at least `min_w` wide), with a tooltip when `title` is given."""
    width = max(x2 - x1, min_w)
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (f'<rect x="{f1(x1)}" y="{f1(y)}" width="{f1(width)}" height="{f1(h)}" class="{cls}"{extra}>'
            f"{tip}</rect>")


def line(x1: float, y1: float, x2: float, y2: float, cls: str) -> str:
    return f'<line x1="{f1(x1)}" y1="{f1(y1)}" x2="{f1(x2)}" y2="{f1(y2)}" class="{cls}"/>'


def text(x: float, y: float, content: str, cls: str, anchor: str = "start") -> str:
    return f'<text x="{f1(x)}" y="{f1(y)}" class="{cls}" text-anchor="{anchor}">{escape(content)}</text>'


def polyline(points: Sequence[tuple[float, float]], cls: str, title: str = "") -> str:
    if len(points) < 1:
        return ""
    pts = " ".join(f"{f1(x)},{f1(y)}" for x, y in points)
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<polyline points="{pts}" class="{cls}">{tip}</polyline>'


def polygon(points: Sequence[tuple[float, float]], cls: str, title: str = "", extra: str = "") -> str:
    pts = " ".join(f"{f1(x)},{f1(y)}" for x, y in points)
    tip = f"<title>{escape(title)}</title>" if title else ""
    return f'<polygon points="{pts}" class="{cls}"{extra}>{tip}</polygon>'


def text_width(content: str, px: float = 11) -> float:
    """A sans-serif label's width, roughly: enough to keep labels inside the frame."""
    return len(content) * px * 0.56
