"""What the engine needs from the stack under test: targets chosen by labels.

The compose backend (`chaos.stack`) satisfies `Stack` through a thin adapter; unit tests use a fake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TargetInfo(Protocol):
    """One container, as `chaos.stack.labels.Target` already is."""

    id: str
    name: str
    service: str
    datacenter: str
    role: str


@runtime_checkable
class Stack(Protocol):
    project: str

    def select(self, labels: Mapping[str, str]) -> Sequence[TargetInfo]:
        """Containers matching every label (short keys: datacenter, role, service), chaos-allowed only."""
        ...


@dataclass(frozen=True)
class TargetRef:
    """A target frozen into the journal: enough to find the container again after a crash."""

    id: str
    name: str
    service: str
    datacenter: str
    role: str

    @classmethod
    def of(cls, target: TargetInfo) -> TargetRef:
        return cls(target.id, target.name, target.service, target.datacenter, target.role)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetRef:
        return cls(**{k: str(data.get(k, "")) for k in ("id", "name", "service", "datacenter", "role")})

    def to_dict(self) -> dict[str, str]:
        return asdict(self)
