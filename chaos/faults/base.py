"""The contract of a fault: injected, journaled, reverted (even from a journal after a crash)."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from chaos.faults.registry import Registry
from chaos.runbook.stack import Stack, TargetInfo, TargetRef


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
        return replace(self, state={**self.state, **state})

    def to_dict(self) -> dict[str, Any]:
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
        return cls(
            fault=data["fault"],
            step_id=data["step_id"],
            targets=tuple(TargetRef.from_dict(t) for t in data.get("targets", ())),
            params=dict(data.get("params") or {}),
            state=dict(data.get("state") or {}),
            destructive=bool(data.get("destructive", False)),
            reverted_by=data.get("reverted_by"),
        )


@dataclass
class FaultContext:
    """What inject and revert get. `abort` is set when the run must stop: long operations should watch it."""

    stack: Stack
    record: FaultRecord
    abort: threading.Event = field(default_factory=threading.Event)

    @property
    def targets(self) -> tuple[TargetRef, ...]:
        return self.record.targets


class Fault(ABC):
    """One kind of fault. Subclass, set `Params` (a pydantic model) and decorate with `@register("name")`.

    The engine calls, in order: `check_supported` (before anything runs), `prepare`, journal write,
    `inject`, journal write, and later `revert` — possibly in another process, from the journal.
    """

    name: ClassVar[str]
    destructive: ClassVar[bool] = False  # nothing comes back by itself: the runbook names the rebuild step
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = self.Params.model_validate(dict(params or {}))

    def describe(self, targets: Sequence[TargetInfo]) -> str:
        names = ", ".join(t.service for t in targets) or "nothing"
        return f"{self.name} on {names}"

    def check_supported(self, stack: Stack) -> None:  # noqa: B027 (a hook: most need no check)
        """Raise `UnsupportedFault` when this fault cannot run here (checked before the run starts)."""

    def prepare(self, ctx: FaultContext) -> Mapping[str, Any]:
        """State to journal before applying (e.g. the networks to reconnect). Must not change the stack."""
        return {}

    @abstractmethod
    def inject(self, ctx: FaultContext) -> FaultRecord:
        """Apply the fault; return `ctx.record`, completed with any state revert needs."""

    @abstractmethod
    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        """Undo the fault. Idempotent, and must cope with a record whose `inject` never finished."""


FAULTS: Registry[type[Fault]] = Registry("fault", ("chaos.faults",))
register = FAULTS.register
