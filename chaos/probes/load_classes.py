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
from chaos.runbook.probe import Measurement, Probe, ProbeContext, register_probe

SETTLE_S = 1.0


def raw_stats(load: object) -> LoadStats:
    """The generator's own statistics behind a runbook load handle (local thread or remote container)."""
    reader = getattr(load, "raw_stats", None)
    if callable(reader):
        return reader()
    thread = getattr(load, "thread", None)
    if thread is not None:
        return thread.stats
    raise ProbeFailed("this load handle does not expose per-class statistics", where="load statistics")


def window_ago(stats: LoadStats, now: float, window_s: float, end_ago_s: float) -> Window:
    end = stats.offset_of(now - max(end_ago_s, SETTLE_S))
    return stats.window(end - window_s, end)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classes: list[str] = Field(min_length=1)
    kind: Literal["read", "write", "all"] = "all"
    window_s: float = Field(default=5.0, gt=0)
    end_ago_s: float = Field(default=SETTLE_S, ge=0)
    count: bool = Field(default=False, description="the number of such requests instead of their share")
    min_requests: int = Field(default=1, ge=0)
    since: str | None = Field(default=None, description="start the window at this step's start (+ since_offset_s)")
    since_offset_s: float = Field(default=0.0, ge=0)

    @field_validator("classes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(CLASSES))
        if unknown:
            raise ValueError(f"unknown class(es) {unknown}: use {list(CLASSES)}")
        return value


@register_probe("load-class-ratio")
class LoadClassRatio(Probe):
    """Share of the window's requests (reads, writes or all) answered in one of `classes`."""

    Params = _Params

    def measure(self, ctx: ProbeContext) -> Measurement:
        if ctx.load is None:
            raise ProbeFailed("this probe reads the load statistics, but the runbook has no `load`", fix="add `load:`")
        p = self.params
        stats = raw_stats(ctx.load)
        if p.since is None:
            w = window_ago(stats, ctx.clock(), p.window_s, p.end_ago_s)
        elif p.since not in ctx.step_started:
            raise ProbeFailed(f"`since: {p.since}` names no step that has started", where="load-class-ratio",
                              fix="name an earlier step of the runbook")
        else:
            start = stats.offset_of(ctx.step_started[p.since] + p.since_offset_s)
            w = stats.window(start, stats.offset_of(ctx.clock() - max(p.end_ago_s, SETTLE_S)))
        rows = {"read": [w.reads], "write": [w.writes], "all": [w.reads, w.writes]}[p.kind]
        wanted = [CLASSES.index(c) for c in p.classes]
        hits = sum(row[i] for row in rows for i in wanted)
        total = sum(sum(row) for row in rows)
        if p.count:
            return hits
        if total < max(p.min_requests, 1):
            span = f"since {p.since} + {p.since_offset_s:g} s" if p.since else f"in the last {p.window_s:g} s"
            raise ProbeFailed(f"{total} {p.kind} request(s) {span}, need {p.min_requests}",
                              where="load statistics", fix="widen the window or add that kind of journey")
        return round(hits / total, 4)
