"""The load generator as the engine sees it (`chaos.load.interface.LoadHandle`): start, stop, statistics.

Windows are given in epoch seconds and mapped to the generator's intended-time offsets. The whole-run
statistics (no window) also check the acknowledged-write ledger against the current primary, which is
how `lost_acked_writes` reaches the verdict.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chaos.errors import EnvironmentProblem, ProbeFailed
from chaos.load.classify import APP, CLASSES, FALLBACK
from chaos.load.interface import PERCENTILES, LoadStats, TickCount
from chaos.load.ledger import LedgerCheck, WriteLedger
from chaos.load.ledger_sources import PresentKeys, ent_submissions
from chaos.load.live import LiveReader
from chaos.load.remote import client_container
from chaos.load.runner import LoadSpec
from chaos.load.stats import N_CLASSES, TICK_S, Window, end_tick, first_tick
from chaos.load.stats import LoadStats as RawStats
from chaos.log import get_logger
from chaos.stack.container_process import signal_in, start_in, stop_in
from chaos.stack.containers import read_file, write_file

if TYPE_CHECKING:
    from chaos.stack.interface import Stack

log = get_logger(__name__)

# Bound even when the runbook gives none: the engine stops it, but a generator always stops by itself.
DEFAULT_MAX_DURATION_S = 900.0
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # where `python -m chaos.load` finds this very package
SETTLE_S = 1.0


class _Handle:
    """What both handles share: windows over the generator's statistics, and the ledger check."""

    stack: Stack
    _ledger_check: LedgerCheck | None = None
    present_keys: PresentKeys | None = None  # where the keys are looked for (default: the ENT's submissions)

    def raw_stats(self) -> RawStats:
        raise NotImplementedError

    def ledger(self) -> WriteLedger:
        raise NotImplementedError

    def pause(self, paused: bool) -> None:
        """Stop sending for now (True) or send again (False): the arrivals due meanwhile are dropped."""
        raise EnvironmentProblem(f"pausing this load ({type(self).__name__}) is not supported",
                               fix="pause a load sent from this machine or from a client container of the stack")

    def ledger_check(self) -> LedgerCheck:
        """The ledger against the keys the system still holds (kept for `stats`)."""
        ledger = self.ledger()
        present = self.present_keys or ent_submissions(self.stack)
        check = ledger.check(present(set(ledger.attempts)))
        log.info("ledger_checked", acknowledged=check.acknowledged, lost=len(check.lost),
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
        if since is None and until is None and not self.ledger().attempts:
            lost = 0  # no write attempted, none lost (and no database to ask: a stack may have none)
        elif since is None and until is None:
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

    def generators(self) -> dict[str, dict[str, Any]]:
        """Each generator's own figures when several make this load (a fleet's); none for a single one."""
        return {}


def _served_counts(counts: list[int]) -> int:
    """Reads answered by the app or the fallback, writes by the app (the same rule as `Window.availability`)."""
    return counts[APP] + counts[FALLBACK] + counts[N_CLASSES + APP]


def _served(window: Window) -> int:
    return window.reads[APP] + window.reads[FALLBACK] + window.writes[APP]


class _LiveHandle(_Handle):
    """A generator in another process that appends its changes to a live file each second (`--live`); probes
    read what it gained since (at most every half second)."""

    where = "the load generator"

    def __init__(self) -> None:
        self._live = LiveReader()
        self._read_at = 0.0

    def _read_live(self) -> None:
        raise NotImplementedError

    def _read(self) -> tuple[RawStats, WriteLedger]:
        now = time.monotonic()
        if self._live.stats is None or now - self._read_at > 0.5:
            self._read_live()
            self._read_at = now
        if self._live.stats is None:  # its first line comes after its first second: nothing measured yet
            return RawStats(start=0.0, start_unix=time.time()), self._live.ledger
        return self._live.stats, self._live.ledger

    def raw_stats(self) -> RawStats:
        return self._read()[0]

    def ledger(self) -> WriteLedger:
        return self._read()[1]


class HostProcessLoad(_LiveHandle):
    """The generator in a child process of this one, from the host through the edge's published port: its own
    interpreter (no lock or garbage collection shared with the engine) at a raised priority when allowed, so the
    engine's work never makes it late. It stops by itself at its duration, and with this process."""

    NICE = -10

    def __init__(self, spec: LoadSpec, stack: Stack | None) -> None:
        super().__init__()
        self.spec = spec
        if stack is not None:
            self.stack = stack
        self._dir = Path(tempfile.mkdtemp(prefix="entchaos-load-"))
        self.live_path = self._dir / "live.jsonl"
        self.process: subprocess.Popen[bytes] | None = None
        self.failure: str | None = None  # the end of its output when it exited with an error

    def start(self) -> None:
        schedule = self.spec.schedule
        profile = self._dir / "profile.json"
        profile.write_text(json.dumps({"points": [list(p) for p in schedule.points]}))
        args = _load_args(self.spec, self.spec.target, profile, self.spec.journeys_file)
        argv = [sys.executable, "-m", "chaos.load", *args, "--live",
                str(self.live_path), "--nice", str(self.NICE), "--parent-pid", str(os.getpid())]
        if self.spec.drain_s is not None:
            argv += ["--drain", f"{self.spec.drain_s:g}"]
        path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)
        log_file = (self._dir / "load.log").open("wb")
        # A session of its own: its own scheduling autogroup (see chaos.load.child), and a terminal's Ctrl-C
        # reaches the engine only, which stops it cleanly.
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONPATH": path}, start_new_session=True)
        log_file.close()
        log.info("load_started_process", pid=self.process.pid, log=str(self._dir / "load.log"))

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def pause(self, paused: bool) -> None:
        if self.process is None or self.process.poll() is not None:
            raise EnvironmentProblem("the load generator is not running", fix="nothing to pause")
        if not self.live_path.exists():  # before its handlers are in place a SIGUSR1 would end it
            raise EnvironmentProblem("the load generator is still starting", fix="try again in a second")
        self.process.send_signal(signal.SIGUSR1 if paused else signal.SIGUSR2)  # its handlers: cli_args

    def wait(self, timeout_s: float) -> bool:
        """Whether the generator ended within `timeout_s`."""
        if self.process is None:
            return True
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        """End it (SIGINT: it drains and writes its last changes; killed after 20 s), read all it wrote, and
        remove its files: what it measured stays in memory."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.returncode != 0 and self.failure is None:
            self.failure = (self._dir / "load.log").read_text(errors="replace")[-600:].strip() or "no output"
            log.warning("load_process_failed", code=proc.returncode, log=self.failure)
        self._read_live()
        shutil.rmtree(self._dir, ignore_errors=True)
        if self._live.stats is not None:
            log.info("load_finished", by_class=dict(zip(CLASSES, self._live.stats.totals, strict=True)),
                     max_lag_ms=self._live.max_lag_ms)

    def _read_live(self) -> None:
        self._live.read_file(self.live_path)


def _load_args(spec: LoadSpec, target: str, profile: str | Path, journeys_file: str | Path | None) -> list[str]:
    mix = ",".join(f"{name}={weight:g}" for name, weight in spec.mix.items())
    journeys = ["--journeys", str(journeys_file)] if journeys_file else []
    return ["--target", target, "--profile", f"file:{profile}", "--duration", f"{spec.schedule.duration_s:g}",
            "--mix", mix, "--timeout", f"{spec.timeout_s:g}", "--served-by", spec.served_by, *journeys, "--quiet"]


class RemoteLoad(_LiveHandle):
    """The same generator inside the client container of `internet-fr` or `internet-abroad`, so the edge sees
    that network's addresses. It stops by itself at its duration."""

    LIVE = "/tmp/entchaos-runbook-load.jsonl"
    PROFILE = "/tmp/entchaos-runbook-profile.json"
    JOURNEYS = "/tmp/entchaos-runbook-journeys.yaml"
    PID = "/tmp/entchaos-runbook-load.pid"

    def __init__(self, spec: LoadSpec, stack: Stack, source: str) -> None:
        super().__init__()
        self.spec, self.stack, self.source = spec, stack, source
        self.container = client_container(stack, source)
        self.where = self.container.name

    def start(self) -> None:
        schedule = self.spec.schedule
        write_file(self.container.id, self.PROFILE, json.dumps({"points": [list(p) for p in schedule.points]}))
        journeys = None
        if self.spec.journeys_file:  # the file as it was checked, copied in: the container cannot see the host's
            journeys = self.JOURNEYS
            write_file(self.container.id, journeys, Path(self.spec.journeys_file).read_text())
        args = _load_args(self.spec, self.spec.target, self.PROFILE, journeys)
        argv = ["python", "-m", "chaos.load", *args, "--live", self.LIVE]
        start_in(self.container.id, argv, pid_file=self.PID, log_file="/tmp/entchaos-runbook-load.log",
                 output_file=self.LIVE)
        log.info("load_started_remote", source=self.source, container=self.container.name)

    def pause(self, paused: bool) -> None:
        signal_in(self.container.id, pid_file=self.PID, signal="USR1" if paused else "USR2")

    def stop(self) -> None:
        # SIGINT ends it cleanly (it drains, then writes its final snapshot); wait for that, 20 s at most.
        stop_in(self.container.id, pid_file=self.PID, wait_s=20)
        self._read_live()

    def _read_live(self) -> None:
        data = read_file(self.container.id, self.LIVE)
        if data is not None:
            self._live.feed(data)
