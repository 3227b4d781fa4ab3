"""The contract of a probe (a measurement), and its registry (same mechanism as faults).

Probe modules of `chaos.probes` register themselves with `@register_probe("name")`;
the generic ones over the load statistics live in `chaos.probes.builtin`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from chaos.load.interface import LoadHandle
from chaos.params import P, Parametrised
from chaos.registry import Registry
from chaos.stack.interface import Stack

Measurement = float | int | bool | str | None


@dataclass
class ProbeContext:
    """What `measure` gets: the stack, the run's load and metrics so far, and how to stop early."""

    stack: Stack
    load: LoadHandle | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)  # recorded so far in this run
    abort: threading.Event = field(default_factory=threading.Event)
    clock: Any = time.time  # injectable for tests
    folder: Path | None = None  # the run's report folder: where a probe keeps what it saw (a screenshot)
    step_started: Mapping[str, float] = field(default_factory=dict)  # step id -> when it started (epoch s)
    # A fixed window of intended send times (epoch s) that load probes read instead of their own "last N s":
    # how the hypothesis is judged over the whole baseline.
    window: tuple[float, float] | None = None
    settle_s: float = 1.0  # a live window ends this long ago: the answers to its newest requests are in flight
    # A wait-for's `since` (epoch s): a live window counts no request sent before it, so "served again" after a
    # fault rests on requests sent after the fault, never on the good ones of the seconds before it.
    not_before: float | None = None
    journeys_file: str | None = None  # the runbook's journeys file (`load.journeys_file`): what a capacity ramp plays


class Probe(Parametrised[P], ABC):
    """One kind of measurement. Subclass as `Probe[ItsParams]` (a pydantic model, `NoParams` for none) and
    decorate with `@register_probe("name")`."""

    name: ClassVar[str]
    # The stacks it measures on (`Stack.backend`): most probes ask only for published addresses.
    backends: ClassVar[tuple[str, ...]] = ("compose", "inventory")

    def describe(self) -> str:
        """`name(key=value, …)`: the probe and its parameters, for `plan` and the reports."""
        args = ", ".join(f"{k}={v}" for k, v in self.params.model_dump().items())
        return f"{self.name}({args})"

    def check_supported(self, stack: Stack) -> None:
        """Raise `EnvironmentProblem` when this probe cannot measure here (checked before the run starts)."""

    @abstractmethod
    def measure(self, ctx: ProbeContext) -> Measurement:
        """Take one measurement. Raise `ProbeFailed` when it cannot be taken (not when it is out of tolerance)."""


PROBES: Registry[type[Probe[Any]]] = Registry("probe", ("chaos.probes.builtin", "chaos.probes"))
register_probe = PROBES.register
