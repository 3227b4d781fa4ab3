"""What the engine needs from the load generator (written in `chaos.load`): start, stop, statistics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chaos.runbook.model import LoadSpec
    from chaos.runbook.stack import Stack

PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)


@dataclass(frozen=True)
class LoadStats:
    """Statistics over a time window [since, until) of the run (epoch seconds; None = open)."""

    requests: int = 0
    failures: int = 0
    percentiles_ms: Mapping[float, float] = field(default_factory=dict)  # keys from PERCENTILES
    acked_writes: int = 0
    lost_acked_writes: int | None = None  # None until the ledger has been checked against the database

    @property
    def availability(self) -> float | None:
        """Share of requests answered well; None when there was no request in the window."""
        return None if self.requests == 0 else (self.requests - self.failures) / self.requests

    def percentile_ms(self, pct: float) -> float | None:
        return self.percentiles_ms.get(float(pct))


class LoadHandle(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop sending; idempotent (rollback calls it whatever happened)."""
        ...

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats: ...


LoadFactory = Callable[["LoadSpec", "Stack"], LoadHandle]
