"""capacity: how much the stack serves within the SLO, measured by pushing it, before the experiment.

A bounded ramp of the given journeys from the host through the edge (the toolkit's own open-model generator,
in its own process). Capacity is the goodput (app answers within the SLO per second, `smooth_s` means) the
stack sustains once saturated: the median over the seconds where more was offered than served (the best
mean alone would take a lucky second for the capacity). The knee, the offered rate where the app's p95 first
crossed the SLO, and the best mean are logged beside it.
A ramp that never saturated the stack measured nothing: the probe says so instead of returning its top rate.
"""

from __future__ import annotations

import statistics
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import Aborted, ProbeFailed
from chaos.load.classify import APP
from chaos.load.handle import HostProcessLoad
from chaos.load.runner import LoadSpec
from chaos.load.schedule import ramp
from chaos.load.stats import LoadStats, to_hdr
from chaos.log import get_logger
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.probes.goodput import best_and_worst_mean, goodput_series
from chaos.stack.endpoint import Endpoint, host_url

log = get_logger(__name__)


class _CapacityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_rps: float = Field(default=5.0, gt=0, le=50_000, strict=True, allow_inf_nan=False)
    to_rps: float = Field(gt=0, le=50_000, strict=True, allow_inf_nan=False,
                          description="arrivals per second at the end of the ramp: beyond the capacity")
    ramp_s: float = Field(default=20.0, ge=5, le=300, strict=True, allow_inf_nan=False)
    journeys: dict[str, float] = Field(default_factory=lambda: {"login": 1.0},
                                       description="shares of the runbook's journeys (its journeys_file, else the "
                                                   "ENT's)")
    slo_ms: float = Field(default=500.0, gt=0, le=600_000, strict=True, allow_inf_nan=False)
    smooth_s: int = Field(default=3, ge=1, le=300, strict=True)
    target: Endpoint | None = Field(default=None, description="{service, port} or {url}; default: the edge")
    served_by: Literal["markers", "status"] | None = Field(
        default=None, description="the ENT's marker headers or any 2xx/3xx (default: markers on the bundled stack)")

    @model_validator(mode="after")
    def _upwards(self) -> _CapacityParams:
        if self.to_rps <= self.from_rps:
            raise ValueError("to_rps must be above from_rps")
        return self


@register_probe("capacity")
class Capacity(Probe[_CapacityParams]):
    """Requests per second the stack serves within the SLO at best, found by a bounded ramp."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        spec = LoadSpec(schedule=ramp(p.from_rps, p.to_rps, p.ramp_s), target=host_url(ctx.stack, p.target),
                        mix=dict(p.journeys), timeout_s=5.0, drain_s=2.0, journeys_file=ctx.journeys_file,
                        served_by=p.served_by or ("markers" if getattr(ctx.stack, "is_bundled", True) else "status"))
        spec.validate()
        load = HostProcessLoad(spec, ctx.stack)
        load.start()
        log.info("capacity_ramp_started", from_rps=p.from_rps, to_rps=p.to_rps, ramp_s=p.ramp_s)
        try:
            while not load.wait(0.25):
                if ctx.abort.is_set():
                    raise Aborted("the run was aborted while the capacity ramp ran")
        finally:
            load.stop()
        if load.failure is not None:
            raise ProbeFailed(f"the capacity ramp's generator failed: {load.failure}", where="capacity")
        stats = load.raw_stats()
        seconds = int(p.ramp_s)
        good = goodput_series(stats, 0, seconds, p.slo_ms)
        best, _ = best_and_worst_mean(good, p.smooth_s)
        offered = [w.total if (w := stats.second(s)) is not None else 0 for s in range(seconds)]
        knee, knee_by = knee_of(stats, seconds, p.slo_ms)
        if best <= 0:
            raise ProbeFailed(f"the stack served nothing within {p.slo_ms:g} ms during the ramp", where="capacity",
                              fix="is it still busy with an earlier load? check `entchaos stack status`")
        tail = slice(seconds - p.smooth_s, seconds)
        if sum(good[tail]) >= 0.95 * sum(offered[tail]):
            raise ProbeFailed(f"the ramp to {p.to_rps:g}/s never saturated the stack (it served {best:.0f}/s within "
                              f"{p.slo_ms:g} ms to the end)", where="capacity", fix="raise `to_rps`")
        capacity = capacity_from(good, offered, knee, p.smooth_s)
        log.info("capacity_measured", capacity_rps=round(capacity, 1), best_rps=round(best, 1), slo_ms=p.slo_ms,
                 knee_offered_rps=None if knee is None else offered[knee], knee_s=knee,
                 knee_by=knee_by)
        return round(capacity, 1)


def capacity_from(good: list[int], offered: list[int], knee: int | None, smooth_s: int) -> float:
    """What the stack sustains saturated, before its latency broke the SLO (the knee, when there is one): a
    protected stack holds a plateau to the end of the ramp; an unprotected one collapses after the knee, and
    what it did while collapsing is not its capacity."""
    end = len(good) if knee is None else knee + 1
    sustained = _sustained(good[:end], offered[:end], smooth_s)
    if sustained is not None:
        return sustained
    upto = good[: max(end, smooth_s)]
    return best_and_worst_mean(upto, smooth_s)[0]


def _sustained(good: list[int], offered: list[int], smooth_s: int) -> float | None:
    """Median of the `smooth_s` means of goodput over the saturated seconds (offered > 1.1 x served)."""
    means = []
    for i in range(len(good) - smooth_s + 1):
        g, o = sum(good[i:i + smooth_s]), sum(offered[i:i + smooth_s])
        if o > 1.1 * g:
            means.append(g / smooth_s)
    return statistics.median(means) if means else None


def knee_of(stats: LoadStats, seconds: int, slo_ms: float) -> tuple[int | None, str | None]:
    """The first of two seconds in a row where the app's p95 broke the SLO, or where most requests failed; and
    which. A collapse is a knee too: most requests failing (timeouts, errors; a shed answer is a protection
    working) while the few the app still answers stay fast. Seen on the unprotected stack: the latency knee came at
    11 s, after seconds of timeouts, and their near-zero goodput was taken for its capacity (0.6 req/s)."""
    p95 = [_p95_app(stats, s) for s in range(seconds)]
    slow = next((s for s in range(seconds - 1) if p95[s] > slo_ms and p95[s + 1] > slo_ms), None)
    failing = [_failed_share(stats, s) for s in range(seconds)]
    collapse = next((s for s in range(seconds - 1) if failing[s] > 0.5 and failing[s + 1] > 0.5), None)
    if slow is None and collapse is None:
        return None, None
    if collapse is None or (slow is not None and slow <= collapse):
        return slow, "latency"
    return collapse, "failures"


def _failed_share(stats: LoadStats, sec: int) -> float:
    """The share of a second's requests that failed (timeouts, errors, refused connections; not shed)."""
    second = stats.second(sec)
    if second is None or not second.total:
        return 0.0
    failed = sum(n for cls, n in second.failed_by_class().items() if cls != "shed")
    return failed / second.total


def _p95_app(stats: LoadStats, sec: int) -> float:
    second = stats.second(sec)
    if second is None or not second.hists[APP]:
        return 0.0
    return to_hdr(second.hists[APP]).get_value_at_percentile(95) / 1000.0
