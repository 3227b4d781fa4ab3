"""In-memory stand-ins for the stack, the load, faults, probes and playbooks.

For unit tests (no Docker, seconds) and for trying a runbook's shape. Registered only in the
registries `fake_registries()` derives, never in the global ones.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict

from chaos.errors import FaultError, PlaybookFailed
from chaos.faults.base import FAULTS, Effect, Fault, FaultContext, FaultRecord
from chaos.load.interface import TICK_S, LoadStats, TickCount
from chaos.probes.base import PROBES, Measurement, Probe, ProbeContext
from chaos.registry import Registry


@dataclass
class FakeTarget:
    id: str
    name: str
    service: str
    datacenter: str
    role: str
    chaos_allowed: bool = True
    state: str = "running"


@dataclass
class FakeStack:
    project: str = "fake"
    targets: list[FakeTarget] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # what the `fake-value` probe reads
    history: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (when, values) after each `set`

    def set(self, **values: Any) -> None:
        if not self.history:
            self.history.append((0.0, dict(self.values)))  # what they were before the first change
        self.values.update(values)
        self.history.append((time.time(), dict(self.values)))

    def values_at(self, t: float) -> Mapping[str, Any]:
        """The values at time t (the live ones after the last change, so direct edits in tests count)."""
        before = [snapshot for when, snapshot in self.history if when <= t]
        return self.values if len(before) == len(self.history) else before[-1]

    def changes_between(self, since: float, until: float) -> list[float]:
        return [when for when, _ in self.history if since < when < until]

    @classmethod
    def two_datacenters(cls, project: str = "fake") -> FakeStack:
        targets = [FakeTarget("edge0", "edge", "edge", "national", "edge")]
        for dc in ("sbg", "rbx"):
            targets += [FakeTarget(f"{dc}-app{i}", f"{dc}-app-{i}", f"{dc}-app-{i}", dc, "app") for i in (1, 2)]
            targets.append(FakeTarget(f"{dc}-db", f"{dc}-db", f"{dc}-db", dc, "db"))
        return cls(project, targets, {"up": True})

    def select(self, labels: Mapping[str, str]) -> list[FakeTarget]:
        return [t for t in self.targets if t.chaos_allowed and all(getattr(t, k, None) == v for k, v in labels.items())]

    def by_id(self, target_id: str) -> FakeTarget:
        return next(t for t in self.targets if t.id == target_id)

    def states(self) -> dict[str, str]:
        return {t.id: t.state for t in self.targets}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FakeKill(Fault):
    """Marks its targets killed; `sets` values on the stack (so probes see the outage); reverts both.

    Its effect check reads the targets' states: killed after inject, running after the revert. `sticky`: the
    revert restores the values but leaves the targets killed (a revert that does not undo the effect).
    """

    class Params(_Strict):
        sets: dict[str, Any] = {}
        fail_inject: bool = False
        fail_revert: bool = False
        sticky: bool = False
        slow_s: float = 0.0  # half-way through inject, wait this long (a window for signals)

    def prepare(self, ctx: FaultContext) -> Mapping[str, Any]:
        # journaled before inject: a revert after a crash half-way through inject still knows what to restore
        return {"values_before": {k: ctx.stack.values.get(k) for k in self.params.sets}}  # type: ignore[attr-defined]

    def inject(self, ctx: FaultContext) -> FaultRecord:
        stack: FakeStack = ctx.stack  # type: ignore[assignment]
        for t in ctx.targets:
            stack.by_id(t.id).state = "killed"
        stack.set(**self.params.sets)
        threading.Event().wait(self.params.slow_s)
        if self.params.fail_inject:
            raise FaultError("fake-kill was told to fail half-way")
        return ctx.record.with_state(killed=[t.id for t in ctx.targets])

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if self.params.fail_revert:
            raise FaultError("fake-kill was told to fail its revert")
        stack: FakeStack = ctx.stack  # type: ignore[assignment]
        for t in record.targets:
            if not self.params.sticky:  # type: ignore[attr-defined]
                stack.by_id(t.id).state = "running"
        stack.set(**(record.state.get("values_before") or {}))

    def _states(self, ctx: FaultContext, record: FaultRecord) -> dict[str, str]:
        stack: FakeStack = ctx.stack  # type: ignore[assignment]
        return {t.service: stack.by_id(t.id).state for t in record.targets}

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        states = self._states(ctx, record)
        return Effect(all(s == "killed" for s in states.values()), {"states": states})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        states = self._states(ctx, record)
        return Effect(all(s == "running" for s in states.values()), {"states": states})


class FakeFire(FakeKill):
    """Destructive: its revert cleans nothing; the `rebuild` playbook brings the targets back."""

    destructive = True

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        ctx.stack.values["fire_cleaned"] = True  # type: ignore[attr-defined]


class FakeSilent(FakeKill):
    """Runs, but has no effect (Pumba's netem on a kernel without it): its targets stay running."""

    def inject(self, ctx: FaultContext) -> FaultRecord:
        ctx.stack.set(**self.params.sets)  # type: ignore[attr-defined]
        return ctx.record


class FakeValue(Probe):
    """Reads `stack.values[key]`."""

    class Params(_Strict):
        key: str
        slow_s: float = 0.0

    def measure(self, ctx: ProbeContext) -> Measurement:
        threading.Event().wait(self.params.slow_s)
        return ctx.stack.values.get(self.params.key)  # type: ignore[attr-defined]


@dataclass
class FakePlaybooks:
    """Each waits `extravars.seconds`, then sets `extravars.sets`; `rebuild` brings every killed container back;
    `fail` fails."""

    stack: FakeStack
    ran: list[str] = field(default_factory=list)
    resets: dict[str, Any] = field(default_factory=dict)

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float, cancel: Callable[[], bool]) -> None:
        self.ran.append(name)
        if name == "fail":
            raise PlaybookFailed("TASK [promote standby] fatal: pg_ctl promote: server is not in standby mode")
        threading.Event().wait(float(extravars.get("seconds", 0.0)))
        if name == "rebuild":
            for t in self.stack.targets:
                t.state = "running"
        self.stack.set(**extravars.get("sets", {}))


@dataclass
class FakeOperator:
    """People who take `seconds` to do what a manual step asks."""

    seconds: float = 0.0
    asked: list[str] = field(default_factory=list)

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event) -> None:
        self.asked.append(step_id)
        abort.wait(self.seconds)


@dataclass
class FakeLoad:
    """100 requests a second whose availability and p95 follow the fake stack's values over time."""

    stack: FakeStack | None = None
    availability: Callable[[Mapping[str, Any]], float] = lambda values: 1.0
    p95_ms: Callable[[Mapping[str, Any]], float] = lambda values: 50.0
    lost_acked_writes: int | None = 0
    clock: Callable[[], float] = time.time
    started_at: float | None = None
    stopped_at: float | None = None

    def start(self) -> None:
        self.started_at = self.clock()

    def stop(self) -> None:
        self.stopped_at = self.stopped_at or self.clock()

    RATE = 100  # requests a second, 10 a tick

    def _until(self, until: float | None) -> float:
        end = self.stopped_at or self.clock()
        return end if until is None else min(until, end)

    def ticks(self, since: float, until: float | None = None) -> list[TickCount]:
        assert self.started_at is not None, "ticks before start"
        first = math.ceil(max(since, self.started_at) / TICK_S - 1e-6)
        last = math.floor(self._until(until) / TICK_S + 1e-6)
        out = []
        for k in range(first, last):
            values = self.stack.values_at((k + 0.5) * TICK_S) if self.stack else {}
            tried = self.RATE // 10
            out.append(TickCount(k * TICK_S, tried, round(tried * self.availability(values))))
        return out

    def series(self, step_s: float = 1.0) -> tuple[float, list[dict[str, Any]]]:
        assert self.started_at is not None
        rows = []
        t = 0.0
        while self.started_at + t + step_s <= self._until(None) + 1e-9:
            s = self.stats(self.started_at + t, self.started_at + t + step_s)
            rows.append({"t": round(t, 3), "sent": s.requests, "by_class": dict(s.by_class),
                         "availability": s.availability, "p50_ms": s.percentile_ms(50),
                         "p95_ms": s.percentile_ms(95), "p99_ms": s.percentile_ms(99)})
            t += step_s
        return self.started_at, rows

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats:
        assert self.started_at is not None, "stats before start"
        since = max(since or self.started_at, self.started_at)
        until = self._until(until)
        if until <= since:
            return LoadStats(since=since, until=since)
        cuts = [since, *(self.stack.changes_between(since, until) if self.stack else []), until]
        segments = []  # (share of the window, availability, p95) for each stretch of constant values
        for a, b in itertools.pairwise(cuts):
            values = self.stack.values_at((a + b) / 2) if self.stack else {}
            segments.append(((b - a) / (until - since), self.availability(values), self.p95_ms(values)))
        requests = max(1, int((until - since) * self.RATE))
        failures = round(requests * sum(share * (1 - avail) for share, avail, _ in segments))
        # p95 of the mix: the slowest stretch that holds at least 5 % of the requests
        share, p95 = 0.0, 0.0
        for part, _, latency in sorted(segments, key=lambda seg: -seg[2]):
            share += part
            p95 = latency
            if share >= 0.05:
                break
        return LoadStats(requests, failures, {50.0: p95 / 2, 95.0: p95, 99.0: p95 * 1.5}, requests // 10,
                         self.lost_acked_writes, since=since, until=until,
                         by_class={"app": requests - failures, "error": failures},
                         failed_by_class={"error": failures} if failures else {},
                         journeys=requests // 5, failed_journeys={"error": failures // 5} if failures // 5 else {})


def fake_registries(
    faults: Registry[type[Fault]] = FAULTS, probes: Registry[type[Probe]] = PROBES
) -> tuple[Registry[type[Fault]], Registry[type[Probe]]]:
    return (
        faults.derive({"fake-kill": FakeKill, "fake-fire": FakeFire, "fake-silent": FakeSilent}),
        probes.derive({"fake-value": FakeValue}),
    )


@dataclass
class FakeWorld:
    """A fake stack with its load, playbooks and registries: what a unit test needs to load and run a runbook."""

    root: Any  # a folder (pathlib.Path) for reports and state
    stack: FakeStack = field(default_factory=FakeStack.two_datacenters)
    load: FakeLoad = field(default_factory=FakeLoad)  # follows `stack` unless given another
    playbooks: FakePlaybooks | None = None
    registries: tuple[Registry[type[Fault]], Registry[type[Probe]]] = field(default_factory=fake_registries)

    def __post_init__(self) -> None:
        self.playbooks = self.playbooks or FakePlaybooks(self.stack)
        self.load.stack = self.load.stack or self.stack

    def parse(self, text: str, source: str = "runbook.yaml") -> Any:
        from chaos.model.loader import parse_runbook

        faults, probes = self.registries
        return parse_runbook(text, source, faults=faults, probes=probes)

    def load_file(self, path: Any) -> Any:
        from chaos.model.loader import load_runbook

        faults, probes = self.registries
        return load_runbook(path, faults=faults, probes=probes)

    def engine(self, runbook: Any, *, engine_class: Any = None, **options: Any) -> Any:
        from chaos.engine.engine import Engine

        faults, probes = self.registries
        defaults: dict[str, Any] = {
            "load_factory": lambda spec, stack: self.load,
            "playbooks": self.playbooks,
            "reports_dir": self.root / "reports",
            "state_dir": self.root / "state",
            "faults": faults,
            "probes": probes,
            "settle_s": 0.0,  # the fake load answers at once
        }
        return (engine_class or Engine)(runbook, self.stack, **{**defaults, **options})
