"""The load generator as the engine sees it (`chaos.load.interface.LoadHandle`): start, stop, statistics.

Windows are given in epoch seconds and mapped to the generator's intended-time offsets. The whole-run
statistics (no window) also check the acknowledged-write ledger against the current primary, which is
how `lost_acked_writes` reaches the verdict.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from chaos.errors import ProbeFailed
from chaos.load.classify import APP, FALLBACK
from chaos.load.interface import PERCENTILES, LoadStats, TickCount
from chaos.load.ledger import LedgerCheck, WriteAttempt, WriteLedger
from chaos.load.remote import EDGE_INSIDE, client_container
from chaos.load.runner import LoadSpec, LoadThread
from chaos.load.stats import N_CLASSES, TICK_S, Window, end_tick, first_tick
from chaos.load.stats import LoadStats as RawStats
from chaos.log import get_logger
from chaos.stack.container_process import start_in, stop_in
from chaos.stack.containers import read_file, write_file

if TYPE_CHECKING:
    from chaos.stack.interface import Stack

log = get_logger(__name__)

# Bound even when the runbook gives none: the engine stops it, but a generator always stops by itself.
DEFAULT_MAX_DURATION_S = 900.0
SETTLE_S = 1.0


class _Handle:
    """What both handles share: windows over the generator's statistics, and the ledger check."""

    stack: Stack
    _ledger_check: LedgerCheck | None = None

    def raw_stats(self) -> RawStats:
        raise NotImplementedError

    def ledger(self) -> WriteLedger:
        raise NotImplementedError

    def ledger_check(self) -> LedgerCheck:
        """The ledger against the submissions stored on the current primary (kept for `stats`)."""
        from chaos.stack.database import current_primary, submission_keys  # local: the database driver, only here

        primary = current_primary(self.stack)
        check = self.ledger().check(submission_keys(self.stack, primary))
        log.info("ledger_checked", primary=primary, acknowledged=check.acknowledged, lost=len(check.lost),
                 unacked_present=len(check.unacked_present))
        self._ledger_check = check
        return check

    def _bounds(self, raw: RawStats, since: float | None, until: float | None) -> tuple[float, float]:
        start = 0.0 if since is None else raw.offset_of(since)
        end = float("inf") if until is None else raw.offset_of(until)
        if since is not None and until is None:
            # A live window ("the last N s") leaves out its newest second: most of its requests are still
            # in flight, and counting only those already answered would flatter it.
            end = raw.offset_of(time.time() - SETTLE_S)
        if end == float("inf"):
            end = raw.tick_range()[1] * TICK_S
        return start, end

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats:
        raw = self.raw_stats()
        start, end = self._bounds(raw, since, until)
        window = raw.window(start, end)
        availability = window.availability("all")
        requests = window.total
        failures = 0 if availability is None else requests - _served(window)
        percentiles = {p: window.percentile_ms(p) for p in PERCENTILES} if requests else {}
        acked = len(self.ledger().acknowledged_keys)
        lost = None
        if since is None and until is None:
            try:
                lost = len(self.ledger_check().lost)
            except ProbeFailed as exc:
                log.warning("ledger_check_failed", error=exc.message)
        return LoadStats(requests=requests, failures=failures,
                         percentiles_ms={p: v for p, v in percentiles.items() if v is not None},
                         acked_writes=acked, lost_acked_writes=lost,
                         since=raw.start_unix + window.start_s, until=raw.start_unix + window.end_s,
                         by_class=window.by_class(), failed_by_class=window.failed_by_class(),
                         journeys=window.journeys_started, failed_journeys=window.failed_journeys_by_class())

    def ticks(self, since: float, until: float | None = None) -> list[TickCount]:
        raw = self.raw_stats()
        start, end = self._bounds(raw, since, until)
        lo, hi = first_tick(start), end_tick(end)
        out = []
        for k in range(lo, hi):
            tick = raw.ticks.get(k)
            tried = sum(tick.counts) if tick is not None else 0
            served = _served_counts(tick.counts) if tick is not None else 0
            out.append(TickCount(raw.start_unix + k * TICK_S, tried, served))
        return out

    def series(self, step_s: float = 1.0) -> tuple[float, list[dict[str, Any]]]:
        raw = self.raw_stats()
        return raw.start_unix, raw.series(step_s)


def _served_counts(counts: list[int]) -> int:
    """Reads answered by the app or the fallback, writes by the app (the same rule as `Window.availability`)."""
    return counts[APP] + counts[FALLBACK] + counts[N_CLASSES + APP]


def _served(window: Window) -> int:
    return window.reads[APP] + window.reads[FALLBACK] + window.writes[APP]


class EngineLoad(_Handle):
    """The generator in a thread of this process: traffic from the host through the edge's published port."""

    def __init__(self, spec: LoadSpec, stack: Stack) -> None:
        self.spec = spec
        self.stack = stack
        self.thread = LoadThread(spec)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()

    def raw_stats(self) -> RawStats:
        return self.thread.stats

    def ledger(self) -> WriteLedger:
        return self.thread.runner.ledger


class RemoteLoad(_Handle):
    """The same generator inside the client container of `internet-fr` or `internet-abroad`, so the edge sees
    that network's addresses. It rewrites a snapshot of its statistics and ledger every second (`--live`);
    probes read the newest one (cached for half a second). It stops by itself at its duration."""

    LIVE = "/tmp/entchaos-runbook-load.json"
    PROFILE = "/tmp/entchaos-runbook-profile.json"
    PID = "/tmp/entchaos-runbook-load.pid"

    def __init__(self, spec: LoadSpec, stack: Stack, source: str) -> None:
        self.spec, self.stack, self.source = spec, stack, source
        self.container = client_container(stack, source)
        self._cached: tuple[float, RawStats, WriteLedger] | None = None

    def start(self) -> None:
        schedule = self.spec.schedule
        write_file(self.container.id, self.PROFILE, json.dumps({"points": [list(p) for p in schedule.points]}))
        mix = ",".join(f"{name}={weight:g}" for name, weight in self.spec.mix.items())
        argv = ["python", "-m", "chaos.load", "--target", EDGE_INSIDE, "--profile", f"file:{self.PROFILE}",
                "--duration", f"{schedule.duration_s:g}", "--mix", mix, "--timeout", f"{self.spec.timeout_s:g}",
                "--quiet", "--live", self.LIVE]
        start_in(self.container.id, argv, pid_file=self.PID, log_file="/tmp/entchaos-runbook-load.log",
                 output_file=self.LIVE)
        log.info("load_started_remote", source=self.source, container=self.container.name)

    def stop(self) -> None:
        # SIGINT ends it cleanly (it drains, then writes its final snapshot); wait for that, 20 s at most.
        stop_in(self.container.id, pid_file=self.PID, wait_s=20)
        self._cached = None

    def _read(self) -> tuple[RawStats, WriteLedger]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > 0.5:
            data = read_file(self.container.id, self.LIVE)
            if data is None:
                raise ProbeFailed("the load in the client container has not written statistics yet",
                                  where=self.container.name, fix="wait a second after the load starts")
            snapshot = json.loads(data)
            ledger = WriteLedger()
            for row in snapshot.get("ledger", []):
                ledger.attempts[row["key"]] = WriteAttempt(**row)
            self._cached = (now, RawStats.from_snapshot(snapshot), ledger)
        return self._cached[1], self._cached[2]

    def raw_stats(self) -> RawStats:
        return self._read()[0]

    def ledger(self) -> WriteLedger:
        return self._read()[1]
