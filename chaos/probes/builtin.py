"""Probes that need nothing but the run itself: constants, recorded metrics, load statistics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import ProbeFailed
from chaos.load.interface import LoadStats, Percentile
from chaos.params import NoParams
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConstantParams(_Strict):
    value: float | int | bool | str


@register_probe("constant")
class Constant(Probe[ConstantParams]):
    """Always the same value: for tests and for runbooks under construction."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return self.params.value


class MetricParams(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)


@register_probe("metric")
class Metric(Probe[MetricParams]):
    """A metric recorded earlier in the run (by a wait-for, a playbook, a probe step)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        if self.params.name not in ctx.metrics:
            raise ProbeFailed(
                f"metric {self.params.name!r} was not recorded in this run",
                fix="record it with `record:` on an earlier step",
            )
        return ctx.metrics[self.params.name]


def _window_stats(ctx: ProbeContext, window_s: float | None, min_requests: int = 0) -> LoadStats:
    if ctx.load is None:
        raise ProbeFailed("this probe reads the load statistics, but the runbook has no `load`", fix="add `load:`")
    if ctx.window is not None:
        stats = ctx.load.stats(since=ctx.window[0], until=ctx.window[1])
        where = f"the {ctx.window[1] - ctx.window[0]:g} s window"
    elif window_s is None:
        stats, where = ctx.load.stats(), "the whole run"
    else:
        # The newest second is left out (its answers are still in flight): the window ends a second ago.
        until = ctx.clock() - ctx.settle_s
        since = until - window_s
        where = f"the last {window_s:g} s"
        if ctx.not_before is not None and since < ctx.not_before:
            since, where = ctx.not_before, f"the {max(0.0, until - ctx.not_before):.2g} s since the step waited from"
            if since >= until:  # nothing sent since then has been answered for long enough yet
                raise ProbeFailed(f"no request sent since the step waited from is {ctx.settle_s:g} s old yet",
                                  fix="it is measured on the next poll")
        stats = ctx.load.stats(since=since, until=until)
    if stats.requests < min_requests:
        # A handful of answers says nothing about a steady state (the load may have just started).
        raise ProbeFailed(f"only {stats.requests} requests in {where} (at least {min_requests} needed)",
                          fix="widen window_s or raise the load's rate")
    return stats


class AvailabilityParams(_Strict):
    window_s: float | None = Field(default=10.0, gt=0, le=86_400, strict=True, allow_inf_nan=False)
    min_requests: int = Field(default=0, ge=0, le=10_000_000, strict=True,
                              description="fewer answers in the window: no measurement")


@register_probe("load-availability")
class LoadAvailability(Probe[AvailabilityParams]):
    """Share of requests answered well over the last `window_s` seconds (whole run when omitted)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return _window_stats(ctx, self.params.window_s, self.params.min_requests).availability


class LatencyParams(_Strict):
    percentile: Percentile = 95.0
    window_s: float | None = Field(default=10.0, gt=0, le=86_400, strict=True, allow_inf_nan=False)
    min_requests: int = Field(default=0, ge=0, le=10_000_000, strict=True,
                              description="fewer answers in the window: no measurement")


@register_probe("load-latency")
class LoadLatency(Probe[LatencyParams]):
    """A latency percentile (ms) over the last `window_s` seconds."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return _window_stats(ctx, self.params.window_s, self.params.min_requests).percentile_ms(self.params.percentile)


@register_probe("lost-acked-writes")
class LostAckedWrites(Probe[NoParams]):
    """Writes the application acknowledged that the database no longer holds (the load's ledger)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return _window_stats(ctx, None).lost_acked_writes
