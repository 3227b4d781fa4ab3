"""What faults, probes and the engine may ask of the stack under test, whatever runs it.

`Stack` is all of it: a second backend (an Ansible inventory, Kubernetes) implements these methods, and every
fault and probe that asks only them works there too. `chaos.stack.compose.ComposeStack` is the compose backend;
`tests.fakes.FakeStack` the in-memory one for unit tests; `chaos.stack.inventory.InventoryStack` an Ansible
inventory of hosts. (Faults that act on container ids through the docker helpers of `chaos.stack.containers` say
so with their `backends`: the engine refuses them on another backend before anything is injected.)

Two target types, on purpose: `Target` is a container as the backend sees it now; `TargetRef` is a target as
the journal keeps it (see its docstring for why it differs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass
class Target:
    """One container as entchaos sees it: who it is (its labels) and how it was when the backend was asked.

    A snapshot: ask the stack again for news. Not frozen, so the in-memory fake plays a container's life
    (killed, running, no longer chaos-allowed) by changing it in place.
    """

    id: str
    name: str
    service: str
    datacenter: str
    role: str
    chaos_allowed: bool = False  # labelled `entchaos.chaos=allowed`: only those can be hit
    status: str = "running"  # the backend's word: running, exited, paused … (the fake's: running, killed)
    health: str | None = None  # the health check's verdict, when the container has one
    networks: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetRef:
    """A target frozen into the journal: enough to find the container again after a crash.

    Not a `Target`: a journal outlives the moment it was written (a revert may run in another process, after a
    crash, from the file), so it keeps who the container is and nothing of how it was then (status, health,
    networks), which would be stale when read. Frozen, because a record of the past is not edited.
    """

    id: str
    name: str
    service: str
    datacenter: str
    role: str

    @classmethod
    def of(cls, target: Target | TargetRef) -> TargetRef:
        """The reference of a live target (or a copy of a reference)."""
        return cls(target.id, target.name, target.service, target.datacenter, target.role)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetRef:
        """Read back what `to_dict` wrote (missing keys become empty strings)."""
        return cls(**{k: str(data.get(k, "")) for k in ("id", "name", "service", "datacenter", "role")})

    def to_dict(self) -> dict[str, str]:
        """The reference as the journal writes it."""
        return asdict(self)


@runtime_checkable
class Stack(Protocol):
    """Everything a fault, a probe or the engine may ask of the stack under test."""

    project: str  # the name that scopes every container, network and volume of this stack
    backend: str  # "compose" or "inventory": which implementation a fault, probe or playbook needs

    def targets(self) -> list[Target]:
        """Every container of the stack, chaos-allowed or not, running or not, sorted by service."""
        ...

    def select(self, labels: Mapping[str, str]) -> Sequence[Target]:
        """Containers matching every label (short keys: datacenter, role, service), chaos-allowed only."""
        ...

    def services_by_label(self) -> dict[str, dict[str, str]]:
        """service -> its `entchaos.*` labels as declared (also for services that have no container now)."""
        ...

    def published(self, service: str, container_port: int) -> tuple[str, int]:
        """Host address (on 127.0.0.1) where `service` publishes `container_port`; `StackError` when none."""
        ...

    def edge_url(self) -> str:
        """Base URL of the edge, as users reach it (`http://127.0.0.1:<port>`)."""
        ...

    def edge_api(self) -> tuple[str, int]:
        """Host address of the edge's runtime API (HAProxy's admin socket over TCP)."""
        ...
