"""Run a load spec for a bounded time: dispatch arrivals by the clock, report once per second, return a result.

The dispatcher never waits for answers: it sleeps until the next intended time, sends everything due, and
goes back to sleep. If the generator itself falls behind (CPU-bound), requests go out late but are still
charged from their intended time, and `lag_ms` in the progress says so: the figure is never flattered.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chaos.errors import InvalidInput
from chaos.load.classify import CLASSES, CLASSIFIERS
from chaos.load.client import ConnectionPool, Pending
from chaos.load.journeys import JourneyContext, Mix, catalog
from chaos.load.ledger import WriteLedger
from chaos.load.schedule import Schedule
from chaos.load.stats import LoadStats
from chaos.log import get_logger

log = get_logger(__name__)


@dataclass
class LoadSpec:
    """What to send: the arrival schedule, the target, the journey mix, the timeouts and limits."""

    schedule: Schedule  # arrivals per second; for session journeys an arrival is one journey start
    target: str = "http://127.0.0.1:8080"
    mix: dict[str, float] = field(default_factory=lambda: {"flood": 1.0})
    timeout_s: float = 5.0
    connect_timeout_s: float = 3.0
    max_connections: int = 512
    think_s: float = 0.0
    flood_path: str | None = None  # replaces the path of a constant journey (the flood's `/`)
    journeys_file: str | None = None  # a journeys file (chaos.load.journey_spec); default: the bundled ENT's
    drain_s: float | None = None  # after the last arrival; default timeout_s + 1
    served_by: str = "markers"  # chaos.load.classify.CLASSIFIERS: the ENT's marker headers, or the status
    seed: int | None = None
    # Wall-clock instant (epoch s) the schedule starts at: generators on several hosts started together share
    # their 100 ms ticks, so their series add up tick by tick (chaos.load.merge). None: at once.
    start_at: float | None = None

    def endpoint(self) -> tuple[str, int, str]:
        """Host, port and Host header of the target; InvalidInput when it is not an http URL."""
        u = urlsplit(self.target)
        if u.scheme != "http" or not u.hostname:
            raise InvalidInput(
                f"load target must be an http:// URL, got {self.target!r}", fix="e.g. http://127.0.0.1:8080"
            )
        return u.hostname, u.port or 80, u.netloc

    def validate(self) -> None:
        """Raise InvalidInput when the spec cannot run (target, timeouts, connections); nothing is sent."""
        self.endpoint()
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise InvalidInput("timeouts must be > 0 seconds")
        if self.max_connections < 1:
            raise InvalidInput(f"max connections must be >= 1, got {self.max_connections}")
        Mix(self.mix, random.Random(), catalog(self.journeys_file))  # the journeys file and the mix, checked
        if self.served_by not in CLASSIFIERS:
            raise InvalidInput(f"served_by must be one of {sorted(CLASSIFIERS)}, got {self.served_by!r}")
        if self.start_at is not None and not -MAX_START_LATE_S < self.start_at - time.time() < MAX_START_AHEAD_S:
            raise InvalidInput(f"start_at {self.start_at:.3f} is {self.start_at - time.time():+.1f} s from now",
                               fix=f"give an instant at most {MAX_START_AHEAD_S} s ahead (and not past)")


MAX_START_AHEAD_S = 60  # a generator waits at most this long for `start_at`
MAX_START_LATE_S = 5  # a start this late is a clock problem, not a slow start


@dataclass
class Progress:
    """Once per second: what the last second looked like."""

    elapsed_s: float
    sent_rate: float  # arrivals dispatched in the last second
    by_class: dict[str, int]  # answers received in the last second
    p95_ms: float | None  # of requests intended in the previous full second
    in_flight: int
    connections: int
    lag_ms: float  # how late the dispatcher sent the last burst's first request (generator overload if large)
    max_lag_ms: float = 0.0  # the latest it has been since the start


@dataclass
class LoadResult:
    """What a finished run leaves: its statistics and its write ledger."""

    spec: LoadSpec
    stats: LoadStats
    ledger: WriteLedger
    sent: int
    elapsed_s: float
    max_lag_ms: float
    stopped_early: bool = False
    connections_opened: int = 0

    def summary(self) -> dict[str, Any]:
        """The whole-run figures, with what was sent, how fast, and how late the generator ran."""
        s = self.stats.summary()
        s.update(
            sent=self.sent,
            elapsed_s=round(self.elapsed_s, 3),
            achieved_rate=round(self.sent / self.elapsed_s, 1) if self.elapsed_s else 0.0,
            max_lag_ms=round(self.max_lag_ms, 2),
            stopped_early=self.stopped_early,
            connections_opened=self.connections_opened,
        )
        return s


ProgressCallback = Callable[[Progress], None]


class LoadRunner:
    """Sends the schedule's arrivals on time (open model) on one event loop, and counts the answers."""

    def __init__(self, spec: LoadSpec, progress: ProgressCallback | None = None) -> None:
        spec.validate()
        self.spec = spec
        self.progress = progress
        self.stats = LoadStats()  # readable live (e.g. by probes) while the run goes on
        self.ledger = WriteLedger()
        self._stop = False
        self.paused = False  # while set, arrivals that fall due are dropped, neither sent nor counted
        self.skipped = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def stop(self) -> None:
        """Stop dispatching (thread-safe); answers already in flight are still awaited for the drain time."""
        self._stop = True
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                self._loop.call_soon_threadsafe(self._wake.set)

    def pause(self) -> None:
        """Send nothing until `resume` (a game day's facilitator gives the room a breath): the arrivals that fall
        due meanwhile are dropped, so the schedule is not shifted and no burst follows the pause."""
        if not self.paused:
            self.paused = True
            log.info("load_paused")

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            log.info("load_resumed", skipped=self.skipped)

    async def run(self) -> LoadResult:
        """Run the schedule to its end (or `stop`); the result."""
        spec = self.spec
        host, port, netloc = spec.endpoint()
        loop = self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        rng = random.Random(spec.seed)
        pool = ConnectionPool(
            host, port, max_connections=spec.max_connections, connect_timeout_s=spec.connect_timeout_s,
            classify=CLASSIFIERS[spec.served_by],
        )
        stats = self.stats
        mix = Mix(spec.mix, rng, catalog(spec.journeys_file))
        ctx = JourneyContext(pool, stats, self.ledger, netloc, spec.timeout_s, spec.think_s, rng)
        ctx.step_ids = {s.name: stats.step_id(s.name) for s in mix.steps}
        # Constant journeys (the flood): their bytes built once, their step id carried by the request.
        fast = {j.name: (j.constant_request(netloc, spec.flood_path), ctx.step_ids[j.steps[0].name])
                for j in mix.journeys if j.run is None}
        timeout = spec.timeout_s
        record = stats.record
        dispatched = stats.dispatched
        tasks: set[asyncio.Task[None]] = set()
        outstanding = 0
        idle = asyncio.Event()
        idle.set()

        def flood_done(p: Pending, cls: int, status: int, headers: dict[str, str], body: bytes, done_at: float) -> None:
            nonlocal outstanding
            record(p.ctx, cls, False, p.intended, done_at)
            outstanding -= 1
            if outstanding == 0 and not tasks:
                idle.set()

        def task_done(t: asyncio.Task[None]) -> None:
            tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("journey_failed", error=repr(t.exception()))
            if outstanding == 0 and not tasks:
                idle.set()

        counters = {"sent": 0, "lag": 0.0, "max_lag": 0.0}
        start, start_unix = time.monotonic(), time.time()
        if spec.start_at is not None:  # together with the other generators: the same instant, the same ticks
            if spec.start_at > start_unix:
                await asyncio.sleep(spec.start_at - start_unix)
                start, start_unix = time.monotonic(), time.time()
            start -= start_unix - spec.start_at  # a late start (bounded by validate) sends what was due at once
            start_unix = spec.start_at
        stats.start, stats.start_unix = start, start_unix
        ticker = _Ticker(self, self.progress, pool, counters, start) if self.progress else None
        log.info(
            "load_started",
            target=spec.target,
            mix=spec.mix,
            duration_s=spec.schedule.end_s,
            expected=round(spec.schedule.expected_count()),
        )

        monotonic = time.monotonic
        submit = pool.submit
        pick = mix.pick
        only = mix.journeys[0] if len(mix.journeys) == 1 else None  # a single journey needs no draw
        only_fast = fast.get(only.name) if only is not None else None  # the flood alone: no lookup per arrival
        offsets = spec.schedule.offsets()
        nxt = next(offsets, None)
        sent = 0
        while nxt is not None and not self._stop:
            now = monotonic()
            due = start + nxt
            if due > now:
                if due - now > 0.05:  # a long gap: wait on the wake event so stop() interrupts it
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), due - now)
                else:
                    await asyncio.sleep(due - now)
                continue
            # Lateness is that of the burst's first arrival: the last one is due about now whatever the stall.
            lag = now - (start + nxt)
            if self.paused:
                while nxt is not None and start + nxt <= now:
                    self.skipped += 1
                    nxt = next(offsets, None)
                await asyncio.sleep(0)
                continue
            while nxt is not None and start + nxt <= now:
                intended = start + nxt
                dispatched(intended)
                j = only if only is not None else pick()
                if j.run is None:
                    if outstanding == 0:  # otherwise `idle` is already clear
                        idle.clear()
                    outstanding += 1
                    data, step = only_fast if only_fast is not None else fast[j.name]
                    submit(Pending(data, intended, intended + timeout, flood_done, step))
                else:
                    idle.clear()
                    t = loop.create_task(j.run(ctx, intended))
                    tasks.add(t)
                    t.add_done_callback(task_done)
                sent += 1
                nxt = next(offsets, None)
            counters["sent"], counters["lag"] = sent, lag
            if lag > counters["max_lag"]:
                counters["max_lag"] = lag
            await asyncio.sleep(0)  # let answers in between bursts

        dispatch_end = monotonic()
        drain = spec.drain_s if spec.drain_s is not None else timeout + 1.0
        try:
            await asyncio.wait_for(idle.wait(), drain)
        except TimeoutError:
            log.warning("load_drain_cut", journeys=len(tasks), requests=pool.in_flight, drain_s=drain)
        for t in list(tasks):
            t.cancel()  # journey steps after the bound are not sent
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        pool.close()
        if ticker:
            ticker.cancel()
        result = LoadResult(
            spec,
            stats,
            self.ledger,
            sent,
            dispatch_end - start,
            counters["max_lag"] * 1000.0,
            stopped_early=self._stop,
            connections_opened=pool.opened_total,
        )
        log.info(
            "load_finished",
            sent=sent,
            elapsed_s=round(result.elapsed_s, 2),
            by_class=stats.summary()["by_class"],
            max_lag_ms=round(result.max_lag_ms, 1),
        )
        return result


class _Ticker:
    """The once-per-second progress callback."""

    def __init__(self, runner: LoadRunner, progress: ProgressCallback, pool: ConnectionPool, counters: dict[str, Any],
                 start: float) -> None:
        self.runner, self.progress, self.pool, self.counters, self.start = runner, progress, pool, counters, start
        self.last_sent = 0
        self.last_totals = list(runner.stats.totals)
        self.loop = asyncio.get_running_loop()
        self.handle = self.loop.call_at(self.loop.time() + 1.0, self.tick)
        self.next_at = self.loop.time() + 1.0

    def tick(self) -> None:
        self.next_at += 1.0
        self.handle = self.loop.call_at(self.next_at, self.tick)
        stats = self.runner.stats
        elapsed = time.monotonic() - self.start
        totals = list(stats.totals)
        sent = self.counters["sent"]
        sec = int(elapsed) - 1
        p = Progress(
            elapsed_s=elapsed,
            sent_rate=float(sent - self.last_sent),
            by_class={name: totals[i] - self.last_totals[i] for i, name in enumerate(CLASSES)},
            p95_ms=stats.window(sec, sec + 1).percentile_ms(95) if sec >= 0 else None,
            in_flight=self.pool.in_flight,
            connections=len(self.pool.conns),
            lag_ms=self.counters["lag"] * 1000.0,
            max_lag_ms=self.counters["max_lag"] * 1000.0,
        )
        self.last_sent, self.last_totals = sent, totals
        try:
            self.progress(p)
        except Exception as exc:  # a broken display must not stop the load
            log.warning("load_progress_callback_failed", error=repr(exc))

    def cancel(self) -> None:
        self.handle.cancel()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop event loop (the stdlib one, slower, when uvloop is missing)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - declared dependency; stdlib loop is correct, only slower
        log.warning("uvloop_missing", fix="pip install uvloop")
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_load(spec: LoadSpec, progress: ProgressCallback | None = None, runner: LoadRunner | None = None) -> LoadResult:
    """Run to completion on a fresh uvloop event loop in this thread."""
    runner = runner or LoadRunner(spec, progress)
    loop = new_event_loop()
    try:
        return loop.run_until_complete(runner.run())
    finally:
        # Connections still being opened when the drain ended (a dead or collapsed server): cancel them,
        # so closing the loop does not complain about each one.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
