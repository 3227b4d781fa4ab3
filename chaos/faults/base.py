"""The contract of a fault: injected, journaled, reverted (even from a journal after a crash)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed
from tenacity.stop import stop_when_event_set

from chaos.errors import Aborted
from chaos.params import P, Parametrised
from chaos.registry import Registry
from chaos.stack.interface import Stack, TargetRef


@dataclass(frozen=True)
class FaultRecord:
    """Everything needed to revert a fault. JSON-serialisable; written to the journal before the fault is applied.

    `state` starts as what `Fault.prepare` returned (known before applying) and is completed by `inject`.
    """

    fault: str
    step_id: str
    targets: tuple[TargetRef, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)
    destructive: bool = False
    reverted_by: str | None = None

    def with_state(self, **state: Any) -> FaultRecord:
        """A copy with `state` completed by these keys."""
        return replace(self, state={**self.state, **state})

    def to_dict(self) -> dict[str, Any]:
        """The record as the journal writes it (JSON-serialisable)."""
        return {
            "fault": self.fault,
            "step_id": self.step_id,
            "targets": [t.to_dict() for t in self.targets],
            "params": dict(self.params),
            "state": dict(self.state),
            "destructive": self.destructive,
            "reverted_by": self.reverted_by,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRecord:
        """Read back what `to_dict` wrote."""
        return cls(
            fault=data["fault"],
            step_id=data["step_id"],
            targets=tuple(TargetRef.from_dict(t) for t in data.get("targets", ())),
            params=dict(data.get("params") or {}),
            state=dict(data.get("state") or {}),
            destructive=bool(data.get("destructive", False)),
            reverted_by=data.get("reverted_by"),
        )


@dataclass(frozen=True)
class Effect:
    """What a fault's effect check observed: `verified` says the effect is there (or, after a revert, gone).

    `evidence` is JSON-serialisable: the measured figures, so a reader can judge the verdict themselves.
    """

    verified: bool
    evidence: dict[str, Any] = field(default_factory=dict)


def poll_effect(check: Callable[[], Effect], *, deadline_s: float, interval_s: float = 0.1,
                abort: threading.Event | None = None) -> Effect:
    """Run `check` until it is verified or `deadline_s` has passed; the last Effect either way.

    For effects that take a moment to show (a killed container may still be running for a few hundred ms).
    The evidence says how long it took (`waited_s`) and how many looks (`attempts`).
    """
    abort = abort or threading.Event()

    def sleep(seconds: float) -> None:  # woken early by an abort
        abort.wait(seconds)

    retrying = Retrying(
        stop=stop_after_delay(deadline_s) | stop_when_event_set(abort),
        wait=wait_fixed(interval_s),
        retry=retry_if_result(lambda effect: not effect.verified),
        sleep=sleep,
        reraise=False,
    )
    try:
        effect = retrying(check)
    except RetryError as exc:
        if abort.is_set():
            raise Aborted("the run was aborted while checking a fault's effect") from None
        effect = exc.last_attempt.result()
    stats = retrying.statistics
    return Effect(effect.verified, {**effect.evidence, "attempts": stats.get("attempt_number", 1),
                                    "waited_s": round(stats.get("delay_since_first_attempt", 0.0), 3)})


def target_names(targets: Sequence[TargetRef], stack: Stack | None = None) -> str:
    """`app-sbg-1, db-sbg`; on an inventory's hosts `app-sbg-1 on sbg-app-1, …`."""
    if stack is not None and stack.backend == "inventory":
        return ", ".join(f"{t.service} on {t.name}" for t in targets) or "nothing"
    return ", ".join(t.service for t in targets) or "nothing"


@dataclass
class FaultContext:
    """What inject and revert get. `abort` is set when the run must stop: long operations should watch it."""

    stack: Stack
    record: FaultRecord
    abort: threading.Event = field(default_factory=threading.Event)

    @property
    def targets(self) -> tuple[TargetRef, ...]:
        """The targets of the record being injected or reverted."""
        return self.record.targets


class Fault(Parametrised[P], ABC):
    """One kind of fault. Subclass as `Fault[ItsParams]` (a pydantic model) and decorate with `@register("name")`.

    The engine calls, in order: `check_supported` (before anything runs), `prepare`, journal write,
    `inject`, journal write, `check_effect` (journaled; not verified ends the run as an error), and later
    `revert` then `check_reverted` — possibly in another process, from the journal. For a destructive fault,
    `check_reverted` runs once its rebuild step (`reverted_by`) has succeeded.
    """

    name: ClassVar[str]
    destructive: ClassVar[bool] = False  # nothing comes back by itself: the runbook names the rebuild step
    backends: ClassVar[tuple[str, ...]] = ("compose",)  # the stacks it is implemented on (`Stack.backend`)
    # What it needs from the kernel (`chaos.stack.capabilities`), as `entchaos faults` lists it: a name, or
    # "name (when)" for a need of one mode only.
    needs: ClassVar[tuple[str, ...]] = ()
    refused_because: ClassVar[str | None] = None  # a fault listed only to say why it cannot be done anywhere

    def describe(self, targets: Sequence[TargetRef], stack: Stack | None = None) -> str:
        """One line for `plan`: what this fault does to which targets (on hosts: each service's host too)."""
        return f"{self.name} on {target_names(targets, stack)}"

    def check_supported(self, stack: Stack) -> None:
        """Raise `UnsupportedFault` when this fault cannot run here (checked before the run starts)."""

    def check_targets(self, targets: Sequence[TargetRef], stack: Stack) -> None:
        """Raise `InvalidInput` when the parameters ask what these targets do not allow (checked before the run
        starts, with the plan's targets, and again by `prepare` with the step's own)."""

    def prepare(self, ctx: FaultContext) -> Mapping[str, Any]:
        """State to journal before applying (e.g. the networks to reconnect). Must not change the stack."""
        return {}

    @abstractmethod
    def inject(self, ctx: FaultContext) -> FaultRecord:
        """Apply the fault; return `ctx.record`, completed with any state revert needs."""

    @abstractmethod
    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        """Undo the fault. Idempotent, and must cope with a record whose `inject` never finished."""

    @abstractmethod
    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Observe, right after `inject`, that the fault took effect; the evidence is journaled.

        Measure the effect itself (a connect that fails, a transfer rate), not that a command ran. Polls go
        through `poll_effect` (tenacity, explicit deadline) and watch `ctx.abort`.
        """

    @abstractmethod
    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same observation after the revert: `verified` means the effect is gone."""


FAULTS: Registry[type[Fault[Any]]] = Registry("fault", ("chaos.faults",))
register = FAULTS.register
