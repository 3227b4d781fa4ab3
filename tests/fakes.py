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

from chaos.engine.manual import Acknowledgement
from chaos.errors import FaultError, PlaybookFailed, StackError
from chaos.faults.base import FAULTS, Effect, Fault, FaultContext, FaultRecord
from chaos.load.interface import TICK_S, LoadStats, TickCount
from chaos.probes.base import PROBES, Measurement, Probe, ProbeContext
from chaos.registry import Registry
from chaos.stack.interface import Stack, Target
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, DATACENTER, ROLE


def fake_target(target_id: str, service: str, datacenter: str, role: str, name: str | None = None) -> Target:
    """A chaos-allowed, running container of the fake stack."""
    return Target(target_id, name or service, service, datacenter, role, chaos_allowed=True)


@dataclass
class FakeStack:
    """A `Stack` in memory: containers whose `status` the fake faults change, and values the fake probe reads.

    It publishes no port: what needs one (`edge_url`, `edge_api`, `published`) raises `StackError`.
    """

    project: str = "fake"
    backend = "compose"  # the fake plays containers (a class attribute: not a field)
    containers: list[Target] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # what the `fake-value` probe reads
    history: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (when, values) after each `set`

    def set(self, **values: Any) -> None:
        """Change values (the outage a fake fault causes), remembering when."""
        if not self.history:
            self.history.append((0.0, dict(self.values)))  # what they were before the first change
        self.values.update(values)
        self.history.append((time.time(), dict(self.values)))

    def values_at(self, t: float) -> Mapping[str, Any]:
        """The values at time t (the live ones after the last change, so direct edits in tests count)."""
        before = [snapshot for when, snapshot in self.history if when <= t]
        return self.values if len(before) == len(self.history) else before[-1]

    def changes_between(self, since: float, until: float) -> list[float]:
        """When the values changed strictly between `since` and `until`."""
        return [when for when, _ in self.history if since < when < until]

    @classmethod
    def two_datacenters(cls, project: str = "fake") -> FakeStack:
        """An edge, and two app replicas and a database in each of `sbg` and `rbx`; the value `up` is True."""
        containers = [fake_target("edge0", "edge", "national", "edge")]
        for dc in ("sbg", "rbx"):
            containers += [fake_target(f"{dc}-app{i}", f"{dc}-app-{i}", dc, "app") for i in (1, 2)]
            containers.append(fake_target(f"{dc}-db", f"{dc}-db", dc, "db"))
        return cls(project, containers, {"up": True})

    def targets(self) -> list[Target]:
        return sorted(self.containers, key=lambda t: t.service)

    def select(self, labels: Mapping[str, str]) -> list[Target]:
        return [t for t in self.containers
                if t.chaos_allowed and all(getattr(t, k, None) == v for k, v in labels.items())]

    def services_by_label(self) -> dict[str, dict[str, str]]:
        allowed = {CHAOS: CHAOS_ALLOWED}
        return {t.service: {DATACENTER: t.datacenter, ROLE: t.role, **(allowed if t.chaos_allowed else {})}
                for t in self.containers}

    def published(self, service: str, container_port: int) -> tuple[str, int]:
        raise StackError(f"the fake stack publishes no port ({service}:{container_port})",
                         fix="measure this against a real stack, in an integration test")

    def edge_url(self) -> str:
        raise StackError("the fake stack has no edge to send requests to",
                         fix="measure this against a real stack, in an integration test")

    def edge_api(self) -> tuple[str, int]:
        raise StackError("the fake stack has no edge runtime API",
                         fix="measure this against a real stack, in an integration test")

    def by_id(self, target_id: str) -> Target:
        """The container of that id (to change its status in place)."""
        return next(t for t in self.containers if t.id == target_id)

    def states(self) -> dict[str, str]:
        """container id -> its status (running, killed)."""
        return {t.id: t.status for t in self.containers}


def on_fake(stack: Stack) -> FakeStack:
    """The fake stack behind a fault's or a probe's context: the fake faults and probes run on nothing else."""
    if not isinstance(stack, FakeStack):
        raise StackError(f"the fake faults and probes act on a FakeStack, not on {type(stack).__name__}")
    return stack


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FakeKillParams(_Strict):
    sets: dict[str, Any] = {}
    fail_inject: bool = False
    fail_revert: bool = False
    sticky: bool = False
    slow_s: float = 0.0  # half-way through inject, wait this long (a window for signals)


class FakeKill(Fault[FakeKillParams]):
    """Marks its targets killed; `sets` values on the stack (so probes see the outage); reverts both.

    Its effect check reads the targets' states: killed after inject, running after the revert. `sticky`: the
    revert restores the values but leaves the targets killed (a revert that does not undo the effect).
    """

    def prepare(self, ctx: FaultContext) -> Mapping[str, Any]:
        # journaled before inject: a revert after a crash half-way through inject still knows what to restore
        return {"values_before": {k: on_fake(ctx.stack).values.get(k) for k in self.params.sets}}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        stack = on_fake(ctx.stack)
        for t in ctx.targets:
            stack.by_id(t.id).status = "killed"
        stack.set(**self.params.sets)
        threading.Event().wait(self.params.slow_s)
        if self.params.fail_inject:
            raise FaultError("fake-kill was told to fail half-way")
        return ctx.record.with_state(killed=[t.id for t in ctx.targets])

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if self.params.fail_revert:
            raise FaultError("fake-kill was told to fail its revert")
        stack = on_fake(ctx.stack)
        for t in record.targets:
            if not self.params.sticky:
                stack.by_id(t.id).status = "running"
        stack.set(**(record.state.get("values_before") or {}))

    def _states(self, ctx: FaultContext, record: FaultRecord) -> dict[str, str]:
        stack = on_fake(ctx.stack)
        return {t.service: stack.by_id(t.id).status for t in record.targets}

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
        on_fake(ctx.stack).values["fire_cleaned"] = True


class FakeSilent(FakeKill):
    """Runs, but has no effect (Pumba's netem on a kernel without it): its targets stay running."""

    def inject(self, ctx: FaultContext) -> FaultRecord:
        on_fake(ctx.stack).set(**self.params.sets)
        return ctx.record


class FakeValueParams(_Strict):
    key: str
    slow_s: float = 0.0


class FakeValue(Probe[FakeValueParams]):
    """Reads `stack.values[key]`."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        threading.Event().wait(self.params.slow_s)
        return on_fake(ctx.stack).values.get(self.params.key)


@dataclass
class FakePlaybooks:
    """Each waits `extravars.seconds`, then sets `extravars.sets`; `rebuild` brings every killed container back;
    `fail` fails."""

    stack: FakeStack
    ran: list[str] = field(default_factory=list)
    resets: dict[str, Any] = field(default_factory=dict)

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float, cancel: Callable[[], bool]) -> None:
        """Play the playbook `name` (see the class); raises `PlaybookFailed` for `fail`."""
        self.ran.append(name)
        if name == "fail":
            raise PlaybookFailed("TASK [promote standby] fatal: pg_ctl promote: server is not in standby mode")
        threading.Event().wait(float(extravars.get("seconds", 0.0)))
        if name == "rebuild":
            for t in self.stack.containers:
                t.status = "running"
        self.stack.set(**extravars.get("sets", {}))


@dataclass
class FakeOperator:
    """People who take `seconds` to do what a manual step asks."""

    seconds: float = 0.0
    asked: list[str] = field(default_factory=list)
    action: str = "done"  # what they say: done, skip, abort

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event,
                  role: str | None = None) -> Acknowledgement:
        """Take `seconds` (or less, when the run is aborted), then say `action`."""
        self.asked.append(step_id)
        abort.wait(self.seconds)
        return Acknowledgement(action=self.action, role=role, text="from the fake", by="fake")  # type: ignore[arg-type]


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
    pauses: list[bool] = field(default_factory=list)  # what the facilitator asked, in order

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

    def generators(self) -> dict[str, dict[str, Any]]:
        return {}  # one generator

    def pause(self, paused: bool) -> None:
        self.pauses.append(paused)

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
    faults: Registry[type[Fault[Any]]] = FAULTS, probes: Registry[type[Probe[Any]]] = PROBES
) -> tuple[Registry[type[Fault[Any]]], Registry[type[Probe[Any]]]]:
    """The given registries plus the fakes (fake-kill, fake-fire, fake-silent, fake-value)."""
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
    registries: tuple[Registry[type[Fault[Any]]], Registry[type[Probe[Any]]]] = field(default_factory=fake_registries)

    def __post_init__(self) -> None:
        self.playbooks = self.playbooks or FakePlaybooks(self.stack)
        self.load.stack = self.load.stack or self.stack

    def parse(self, text: str, source: str = "runbook.yaml") -> Any:
        """A runbook from YAML text, against the fake registries."""
        from chaos.model.loader import parse_runbook

        faults, probes = self.registries
        return parse_runbook(text, source, faults=faults, probes=probes)

    def load_file(self, path: Any) -> Any:
        """A runbook from a file, against the fake registries."""
        from chaos.model.loader import load_runbook

        faults, probes = self.registries
        return load_runbook(path, faults=faults, probes=probes)

    def engine(self, runbook: Any, *, engine_class: Any = None, **options: Any) -> Any:
        """An engine on the fake stack, load and playbooks; `options` override the defaults."""
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
