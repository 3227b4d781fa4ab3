"""The load generator as the engine sees it (`chaos.runbook.load.LoadHandle`): start, stop, statistics.

Windows are given in epoch seconds and mapped to the generator's intended-time offsets. The whole-run
statistics (no window) also check the acknowledged-write ledger against the current primary, which is
how `lost_acked_writes` reaches the verdict.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from chaos.errors import InvalidInput, ProbeFailed
from chaos.load.journeys import JOURNEYS
from chaos.load.ledger import LedgerCheck
from chaos.load.runner import LoadSpec, LoadThread
from chaos.load.schedule import from_spec, profile
from chaos.logging import get_logger
from chaos.runbook.load import PERCENTILES, LoadStats

if TYPE_CHECKING:
    from chaos.runbook import model as m
    from chaos.stack.compose import ComposeStack

log = get_logger(__name__)

# Bound even when the runbook gives none: the engine stops it, but a generator always stops by itself.
DEFAULT_MAX_DURATION_S = 900.0
SETTLE_S = 1.0


def spec_from_runbook(load: m.LoadSpec, target: str) -> LoadSpec:
    duration = load.duration_s or DEFAULT_MAX_DURATION_S
    if load.schedule:
        points = [[s.at_s, s.rps] for s in load.schedule]
        schedule = profile(points, duration_s=max(duration, points[-1][0]))
    else:
        assert load.profile is not None
        schedule = from_spec(load.profile, duration)
    if load.scale != 1.0:
        schedule = dataclasses.replace(schedule, points=tuple((t, r * load.scale) for t, r in schedule.points))
    unknown = sorted(set(load.journeys) - set(JOURNEYS))
    if unknown:
        raise InvalidInput(f"unknown journey(s) {unknown} in the runbook's load", fix=f"choose among {list(JOURNEYS)}")
    return LoadSpec(schedule=schedule, target=target, mix=dict(load.journeys) or {"pupil": 1.0})


class EngineLoad:
    def __init__(self, spec: LoadSpec, stack: ComposeStack) -> None:
        self.spec = spec
        self.stack = stack
        self.thread = LoadThread(spec)
        self._ledger_check: LedgerCheck | None = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def ledger_check(self) -> LedgerCheck:
        from chaos.probes.sql import current_primary, submission_keys

        primary = current_primary(self.stack)
        check = self.thread.runner.ledger.check(submission_keys(self.stack, primary))
        log.info("ledger_checked", primary=primary, acknowledged=check.acknowledged, lost=len(check.lost),
                 unacked_present=len(check.unacked_present))
        self._ledger_check = check
        return check

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats:
        raw = self.thread.stats
        start = 0.0 if since is None else raw.offset_of(since)
        end = float("inf") if until is None else raw.offset_of(until)
        if since is not None and until is None:
            # A live window ("the last N s") leaves out its newest second: most of its requests are still
            # in flight, and counting only those already answered would flatter it.
            end = raw.offset_of(time.time() - SETTLE_S)
        window = raw.window(start, end)
        availability = window.availability("all")
        requests = window.total
        failures = 0 if availability is None else round(requests * (1 - availability))
        percentiles = {p: window.percentile_ms(p) for p in PERCENTILES} if requests else {}
        acked = len(self.thread.runner.ledger.acknowledged_keys)
        lost = None
        if since is None and until is None:
            try:
                lost = len(self.ledger_check().lost)
            except ProbeFailed as exc:
                log.warning("ledger_check_failed", error=exc.message)
        return LoadStats(requests=requests, failures=failures,
                         percentiles_ms={p: v for p, v in percentiles.items() if v is not None},
                         acked_writes=acked, lost_acked_writes=lost)


def load_factory(load: m.LoadSpec, stack: ComposeStack) -> EngineLoad:
    if load.source != "host":
        raise InvalidInput(
            f"load source {load.source!r} is not supported inside a runbook yet (only `host`)",
            fix="use `source: host`, or run `entchaos load --from " + load.source + "` beside the run",
        )
    spec = spec_from_runbook(load, stack.edge_url())
    spec.validate()
    return EngineLoad(spec, stack)

