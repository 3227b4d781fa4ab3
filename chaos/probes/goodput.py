"""Goodput and what the users waited, over the load's own seconds: the figures of an overload.

Goodput is what congestion collapse destroys: requests *served by the app within the SLO* per second. An
overloaded stack can stay busy and answer everything too late; counting answers alone would hide that.
"""

from __future__ import annotations

from pydantic import Field

from chaos.errors import ProbeFailed
from chaos.load.classify import APP, CLASSES
from chaos.load.stats import LoadStats, hdr_index
from chaos.params import NoParams
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.probes.load_classes import ClassesParams, WindowParams, describe_window, load_stats_of, select_window


def goodput_series(stats: LoadStats, start_s: float, end_s: float, slo_ms: float) -> list[int]:
    """Per whole second of intended send times in [start_s, end_s): app answers within `slo_ms`."""
    limit = hdr_index(int(slo_ms * 1000))
    out = []
    for sec in range(int(start_s), int(end_s)):
        second = stats.second(sec)
        out.append(0 if second is None else sum(n for idx, n in second.hists[APP].items() if idx <= limit))
    return out


def best_and_worst_mean(series: list[int], smooth_s: int) -> tuple[float, float]:
    """Highest and lowest mean over `smooth_s` consecutive seconds (a one-second dip is noise, not collapse)."""
    if len(series) < smooth_s:
        raise ProbeFailed(f"{len(series)} s of load measured, need at least {smooth_s}", where="goodput")
    means = [sum(series[i:i + smooth_s]) / smooth_s for i in range(len(series) - smooth_s + 1)]
    return max(means), min(means)


class _GoodputParams(WindowParams):
    slo_ms: float = Field(default=500.0, gt=0, le=600_000, strict=True, allow_inf_nan=False,
                          description="an app answer later than this is not goodput")
    smooth_s: int = Field(default=3, ge=1, le=300, strict=True)
    relative_to: str | None = Field(default=None, description="a recorded metric, e.g. capacity_rps: a ratio")


@register_probe("load-goodput")
class LoadGoodput(Probe[_GoodputParams]):
    """The lowest goodput (app answers within the SLO, per second, smoothed) over the window; as a ratio of a
    recorded metric when `relative_to` names one: "goodput stayed at least 90 % of capacity throughout"."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        stats = load_stats_of(ctx)
        w = select_window(stats, ctx, p)
        series = goodput_series(stats, w.start_s, w.end_s, p.slo_ms)
        _, worst = best_and_worst_mean(series, p.smooth_s)
        if p.relative_to is None:
            return round(worst, 1)
        base = ctx.metrics.get(p.relative_to)
        if not base:
            raise ProbeFailed(f"goodput is relative to `{p.relative_to}`, which was not recorded",
                              where="load-goodput", fix="record it in an earlier step (e.g. the capacity probe)")
        return round(worst / base, 4)


class _LatencyParams(ClassesParams):
    percentile: float = Field(default=95.0, gt=0, le=100)
    min_requests: int = Field(default=1, ge=1, le=10_000_000, strict=True)


@register_probe("load-class-latency")
class LoadClassLatency(Probe[_LatencyParams]):
    """A latency percentile (ms, from the intended send time) of the answers of some classes over the window:
    "admitted p95" is `classes: [app]`, "shed p99" is `classes: [shed]`."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        w = select_window(load_stats_of(ctx), ctx, p)
        wanted = [CLASSES.index(c) for c in p.classes]
        n = sum(w.reads[i] + w.writes[i] for i in wanted)
        if n == 0:  # no such answer at all (no refusal on an unprotected stack): nothing to measure, not an error
            return None
        if n < p.min_requests:
            raise ProbeFailed(f"{n} answer(s) of class {p.classes} {describe_window(p)}, need {p.min_requests}",
                              where="load-class-latency", fix="widen the window")
        value = w.percentile_ms(p.percentile, wanted)
        return None if value is None else round(value, 2)


@register_probe("load-elapsed")
class LoadElapsed(Probe[NoParams]):
    """Seconds since the load started (0 before it starts): wait for a phase of a load profile with it."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        if ctx.load is None:
            return 0.0
        stats = load_stats_of(ctx)
        return round(max(0.0, stats.offset_of(ctx.clock())), 2)


class _OfferedParams(WindowParams):
    relative_to: str | None = Field(default=None, description="a recorded metric, e.g. capacity_rps: a ratio")


@register_probe("load-offered")
class LoadOffered(Probe[_OfferedParams]):
    """The mean rate of requests users tried to make over the window (by intended send time, whatever became of
    them); as a multiple of a recorded metric with `relative_to`: "the surge was 12x the capacity"."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        w = select_window(load_stats_of(ctx), ctx, p)
        span = w.end_s - w.start_s
        if span < 1:
            raise ProbeFailed(f"the window {describe_window(p)} is shorter than a second", where="load-offered")
        # Arrivals dispatched, not answers recorded: requests still in flight (a collapsed stack holds them
        # until their timeout) were offered all the same.
        rate = (w.sent or w.total) / span
        if p.relative_to is None:
            return round(rate, 1)
        base = ctx.metrics.get(p.relative_to)
        if not base:
            raise ProbeFailed(f"the rate is relative to `{p.relative_to}`, which was not recorded",
                              where="load-offered")
        return round(rate / base, 2)
