"""Who answered the load's requests: the share (or count) of a window's reads or writes in some classes.

`availability` says "served"; this says by whom: `fallback` (the broadcast pages), `app`, `shed` (503 with
Retry-After, 429), `error`, `timeout`, `refused`. Windows are over intended send times, relative to now:
[now - end_ago_s - window_s, now - end_ago_s), or, with `since: <step id>`, from that step's start plus
`since_offset_s` to now - end_ago_s: "every read from 5 s after the loss on". The newest second is always
left out: its answers are still in flight.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chaos.errors import ProbeFailed
from chaos.load.classify import CLASSES
from chaos.load.stats import LoadStats, Window
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe

SETTLE_S = 1.0


def raw_stats(load: object) -> LoadStats:
    """The generator's own statistics behind a runbook load handle (local thread or remote container)."""
    reader = getattr(load, "raw_stats", None)
    if callable(reader):
        return reader()
    raise ProbeFailed("this load handle does not expose per-class statistics", where="load statistics")


class WindowParams(BaseModel):
    """Which seconds of the load a probe reads: the last `window_s` (ending `end_ago_s` ago), or from a step's
    start (`since` + `since_offset_s`), or fixed offsets of the load's own clock (`from_s`, `to_s`)."""

    model_config = ConfigDict(extra="forbid")
    window_s: float = Field(default=5.0, gt=0, le=86_400, strict=True, allow_inf_nan=False)
    end_ago_s: float = Field(default=SETTLE_S, ge=0, le=86_400, strict=True, allow_inf_nan=False)
    since: str | None = Field(default=None, description="start the window at this step's start (+ since_offset_s)")
    since_offset_s: float = Field(default=0.0, ge=0, le=86_400, strict=True, allow_inf_nan=False)
    from_s: float | None = Field(default=None, ge=0, le=86_400, strict=True, allow_inf_nan=False,
                                 description="seconds after the load started")
    to_s: float | None = Field(default=None, gt=0, le=86_400, strict=True, allow_inf_nan=False,
                               description="seconds after the load started (default: now)")


def select_window(stats: LoadStats, ctx: ProbeContext, p: WindowParams) -> Window:
    """The window of the load's seconds that `p` describes (the run's fixed window when it has one)."""
    if ctx.window is not None:  # judged over a fixed window (the baseline)
        return stats.window(stats.offset_of(ctx.window[0]), stats.offset_of(ctx.window[1]))
    now_end = stats.offset_of(ctx.clock() - max(p.end_ago_s, SETTLE_S))
    if p.from_s is not None:
        end = now_end if p.to_s is None else min(p.to_s, now_end)
        return stats.window(p.from_s, end)
    if p.since is None:
        return stats.window(now_end - p.window_s, now_end)
    if p.since not in ctx.step_started:
        raise ProbeFailed(f"`since: {p.since}` names no step that has started", where="load window",
                          fix="name an earlier step of the runbook")
    return stats.window(stats.offset_of(ctx.step_started[p.since] + p.since_offset_s), now_end)


def describe_window(p: WindowParams) -> str:
    """The window in words, for error messages."""
    if p.from_s is not None:
        return f"from {p.from_s:g} s to {p.to_s if p.to_s is not None else 'now'} s of the load"
    return f"since {p.since} + {p.since_offset_s:g} s" if p.since else f"in the last {p.window_s:g} s"


def load_stats_of(ctx: ProbeContext) -> LoadStats:
    """The generator's statistics of the run's load; `ProbeFailed` when no load runs."""
    if ctx.load is None:
        raise ProbeFailed("this probe reads the load statistics, but no load runs (yet)",
                          fix="add `load:` to the runbook, or measure after `load.start_after`")
    return raw_stats(ctx.load)


class ClassesParams(WindowParams):
    """A window and some response classes (app, fallback, shed, error, timeout, refused)."""

    classes: list[str] = Field(min_length=1)

    @field_validator("classes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}: use {list(CLASSES)}")
        return value


class _Params(ClassesParams):
    kind: Literal["read", "write", "all"] = "all"
    count: bool = Field(default=False, description="the number of such requests instead of their share")
    min_requests: int = Field(default=1, ge=0, le=10_000_000, strict=True)


@register_probe("load-class-ratio")
class LoadClassRatio(Probe[_Params]):
    """Share of the window's requests (reads, writes or all) answered in one of `classes`."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        w = select_window(load_stats_of(ctx), ctx, p)
        rows = {"read": [w.reads], "write": [w.writes], "all": [w.reads, w.writes]}[p.kind]
        wanted = [CLASSES.index(c) for c in p.classes]
        hits = sum(row[i] for row in rows for i in wanted)
        total = sum(sum(row) for row in rows)
        if p.count:
            return hits
        if total < max(p.min_requests, 1):
            raise ProbeFailed(f"{total} {p.kind} request(s) {describe_window(p)}, need {p.min_requests}",
                              where="load statistics", fix="widen the window or add that kind of journey")
        return round(hits / total, 4)
