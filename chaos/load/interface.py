"""What the engine needs from the load generator (written in `chaos.load`): start, stop, statistics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, get_args

from pydantic import AfterValidator

# Where load comes from: this host, or a client container on one of the stack's client networks (the edge then
# sees French or foreign source addresses). Written once: the runbook schema, the CLI and the faults use these.
ClientSource = Literal["internet-fr", "internet-abroad"]
Source = Literal["host", "internet-fr", "internet-abroad"]
SOURCES: tuple[str, ...] = get_args(Source)
CLIENT_SOURCES: tuple[str, ...] = get_args(ClientSource)

PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.9)


def known_percentile(value: float) -> float:
    """`value` when the load's statistics keep that percentile; else a ValueError that lists those kept."""
    if value not in PERCENTILES:
        raise ValueError(f"percentile must be one of {', '.join(map(str, PERCENTILES))}")
    return value


# A percentile the load keeps (for parameter models: runbook checks and probes alike).
Percentile = Annotated[float, AfterValidator(known_percentile)]


TICK_S = 0.1  # the resolution of every window: requests are filed by intended send time in 100 ms ticks


@dataclass(frozen=True)
class LoadStats:
    """Statistics over a time window of intended send times. `since`/`until` (epoch s) are the bounds actually
    counted: whole 100 ms ticks inside the window asked for (None when unknown)."""

    requests: int = 0
    failures: int = 0
    percentiles_ms: Mapping[float, float] = field(default_factory=dict)  # keys from PERCENTILES
    acked_writes: int = 0
    lost_acked_writes: int | None = None  # None until the ledger has been checked against the database
    since: float | None = None
    until: float | None = None
    by_class: Mapping[str, int] = field(default_factory=dict)  # app, fallback, shed, error, timeout, refused
    failed_by_class: Mapping[str, int] = field(default_factory=dict)  # the failures, by what users got
    journeys: int = 0  # journeys started in the window
    failed_journeys: Mapping[str, int] = field(default_factory=dict)  # by the class of their first failure

    @property
    def duration_s(self) -> float | None:
        return None if self.since is None or self.until is None else max(0.0, self.until - self.since)

    @property
    def rps(self) -> float | None:
        d = self.duration_s
        return self.requests / d if d else None

    @property
    def availability(self) -> float | None:
        """Share of requests answered well; None when there was no request in the window."""
        return None if self.requests == 0 else (self.requests - self.failures) / self.requests

    def percentile_ms(self, pct: float) -> float | None:
        return self.percentiles_ms.get(float(pct))


@dataclass(frozen=True)
class TickCount:
    """One 100 ms tick of intended send times: requests tried and served (the unit of impact figures)."""

    at: float  # epoch s, the tick's start
    tried: int
    served: int


class LoadHandle(Protocol):
    """A load generator the engine drives: started, stopped, asked for statistics over a window."""

    def start(self) -> None: ...

    def stop(self) -> None:
        """Stop sending; idempotent (rollback calls it whatever happened)."""
        ...

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats: ...

    def ticks(self, since: float, until: float | None = None) -> list[TickCount]:
        """Every tick inside [since, until) (until None: up to the newest settled one), empty ones included."""
        ...

    def series(self, step_s: float = 1.0) -> tuple[float, list[dict[str, Any]]]:
        """The whole series (origin epoch s, rows with `t` s since origin): the report's timeline."""
        ...

    def pause(self, paused: bool) -> None:
        """Stop sending for now (True), or send again (False); `UnsupportedFault` where it cannot."""
        ...

    def generators(self) -> dict[str, dict[str, Any]]:
        """Each generator's own figures (requests, availability, p95, clock offset) when several generators on
        several hosts make this load, merged (`chaos.load.fleet_load`); empty for one generator."""
        ...

