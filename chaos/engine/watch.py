"""The background watcher: samples the load for the report's timeline and guards the stop conditions.

A stop condition is breached when its probe stays out of bound for `for_s` seconds (a probe that
cannot measure counts as out of bound: not seeing the service is no reason to go on hurting it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from chaos.errors import ChaosError
from chaos.events import Bus, LoadSampled, StopConditionBreached
from chaos.load.interface import LoadHandle
from chaos.log import get_logger
from chaos.model import runbook as m
from chaos.probes.base import Probe, ProbeContext

log = get_logger(__name__)


@dataclass
class Guard:
    """A stop condition with its probe, and when it is next due and since when it is out of bound."""

    condition: m.StopCondition
    probe: Probe
    next_due: float = 0.0
    out_since: float | None = None


class Watcher:
    """A background thread: samples the load for the timeline and, once armed, watches the stop conditions."""

    def __init__(
        self,
        bus: Bus,
        abort: threading.Event,
        probe_context: Callable[[], ProbeContext],
        guards: list[Guard],
        load: LoadHandle | None,
        sample_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bus, self.abort, self.probe_context, self.guards, self.load = bus, abort, probe_context, guards, load
        self.sample_s, self.clock = sample_s, clock
        self.armed = threading.Event()  # stop conditions count only while the steps run
        self.breached: StopConditionBreached | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="entchaos-watcher", daemon=True)
        self._last_sample = clock()
        self._next_sample = self._last_sample + sample_s
        self.tick_s = min([sample_s, *(g.condition.interval_s for g in guards)])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.load is not None and self.clock() > self._last_sample:
            self._next_sample = 0.0  # one last point, so even a short run has a timeline
            self.armed.clear()
            self._safe_tick()

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception as exc:  # the watcher must never die silently, nor break the rollback
            log.warning("watcher_tick_failed", error=str(exc))

    def arm(self) -> None:
        """Start watching the stop conditions (when the steps start), each due now."""
        now = self.clock()
        for guard in self.guards:
            guard.next_due, guard.out_since = now, None
        self.armed.set()

    def disarm(self) -> None:
        self.armed.clear()

    def _run(self) -> None:
        # A ticker, not a retry: Event.wait both paces the loop and ends it at once on stop().
        while not self._stop.wait(self.tick_s):
            self._safe_tick()

    def tick(self) -> None:
        """One look: a timeline sample when due, and every stop condition that is due while armed."""
        now = self.clock()
        if self.load is not None and now >= self._next_sample:
            stats = self.load.stats(since=self._last_sample, until=now)
            self.bus.emit(LoadSampled(requests=stats.requests, availability=stats.availability,
                                      p95_ms=stats.percentile_ms(95.0),
                                      by_class={k: v for k, v in stats.by_class.items() if v}))
            self._last_sample, self._next_sample = now, now + self.sample_s
        if self.armed.is_set() and self.breached is None:
            for guard in self.guards:
                if now >= guard.next_due:
                    guard.next_due = now + guard.condition.interval_s
                    self._evaluate(guard, now)

    def _evaluate(self, guard: Guard, now: float) -> None:
        cond = guard.condition
        try:
            value = guard.probe.measure(self.probe_context())
        except ChaosError as exc:
            value = None
            log.warning("stop_condition_probe_failed", condition=cond.name, error=exc.message)
        if cond.bound.holds(value):
            guard.out_since = None
            return
        guard.out_since = guard.out_since if guard.out_since is not None else now
        if now - guard.out_since >= cond.for_s and self.breached is None:
            self.breached = StopConditionBreached(name=cond.name, expected=cond.bound.describe(), observed=value,
                                                  for_s=round(now - guard.out_since, 3))
            log.warning("stop_condition_breached", condition=cond.name, observed=value)
            self.bus.emit(self.breached)
            self.abort.set()
