"""Probes over load statistics: availability and latency percentiles over a window of the run.

Windows are offsets in seconds from the load's start, over *intended* send times; use
`window_of(stats, start_unix, end_unix)` to turn wall-clock instants (a fault's injection, its revert) into one.
A window with too few requests is not a measurement: the probe raises `ProbeFailed` rather than report 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chaos.errors import InvalidInput, ProbeFailed
from chaos.load.classify import CLASSES
from chaos.load.stats import LATENCY_CLASSES, LoadStats, Window

KINDS = ("all", "read", "write")


@dataclass(frozen=True)
class LoadReading:
    """A figure over a window of the load, with how many requests it rests on."""

    value: float
    requests: int
    start_s: float
    end_s: float


def window_of(stats: LoadStats, start_unix: float, end_unix: float) -> tuple[float, float]:
    """The load's own offsets (s) of two wall-clock instants."""
    return stats.offset_of(start_unix), stats.offset_of(end_unix)


def _window(stats: LoadStats, start_s: float, end_s: float, min_requests: int, what: str) -> Window:
    if end_s <= start_s:
        raise InvalidInput(f"load window is empty: [{start_s}, {end_s})", fix="give an end after the start")
    w = stats.window(start_s, end_s)
    if w.total < min_requests:
        raise ProbeFailed(
            f"{what}: only {w.total} request(s) in [{start_s:.1f}, {end_s:.1f}) s, need {min_requests}",
            where="load statistics",
            fix="widen the window or raise the load rate",
        )
    return w


def availability(
    stats: LoadStats,
    start_s: float = 0.0,
    end_s: float = float("inf"),
    *,
    kind: str = "all",
    min_requests: int = 1,
) -> LoadReading:
    """Share of requests served: reads by the app or the fallback, writes by the app only."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown availability kind {kind!r}", fix=f"use one of {KINDS}")
    w = _window(stats, start_s, end_s, min_requests, f"availability ({kind})")
    value = w.availability(kind)
    n = {"all": w.total, "read": sum(w.reads), "write": sum(w.writes)}[kind]
    if value is None or n < min_requests:
        raise ProbeFailed(
            f"availability ({kind}): {n} {kind} request(s) in [{start_s:.1f}, {end_s:.1f}) s, need {min_requests}",
            where="load statistics",
            fix="include that kind of journey in the load mix, or widen the window",
        )
    return LoadReading(value, n, start_s, end_s)


def percentile_ms(
    stats: LoadStats,
    q: float,
    start_s: float = 0.0,
    end_s: float = float("inf"),
    *,
    classes: Iterable[str] | None = None,
    min_requests: int = 1,
) -> LoadReading:
    """Latency percentile (ms, from intended send time) over the window; by default every class but `refused`."""
    if not 0 < q <= 100:
        raise InvalidInput(f"percentile must be in (0, 100], got {q}")
    if classes is None:
        idx = LATENCY_CLASSES
    else:
        unknown = sorted(set(classes) - set(CLASSES))
        if unknown:
            raise InvalidInput(f"unknown response class(es) {unknown}", fix=f"use {CLASSES}")
        idx = tuple(CLASSES.index(c) for c in classes)
    w = _window(stats, start_s, end_s, min_requests, f"p{q:g}")
    h = w.histogram(idx)
    n = h.get_total_count()
    if n < min_requests:
        raise ProbeFailed(
            f"p{q:g}: {n} request(s) of classes {[CLASSES[i] for i in idx]} in the window, need {min_requests}",
            where="load statistics",
        )
    return LoadReading(h.get_value_at_percentile(q) / 1000.0, n, start_s, end_s)
