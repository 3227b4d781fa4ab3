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

from pydantic import BaseModel

from chaos.faults.base import NoParams
from chaos.load.interface import LoadHandle
from chaos.registry import Registry
from chaos.stack.interface import Stack

Measurement = float | int | bool | str | None


@dataclass
class ProbeContext:
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


class Probe(ABC):
    name: ClassVar[str]
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = self.Params.model_validate(dict(params or {}))

    def describe(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params.model_dump().items())
        return f"{self.name}({args})"

    def check_supported(self, stack: Stack) -> None:  # noqa: B027 (a hook: most need no check)
        """Raise `EnvironmentProblem` when this probe cannot measure here (checked before the run starts)."""

    @abstractmethod
    def measure(self, ctx: ProbeContext) -> Measurement:
        """Take one measurement. Raise `ProbeFailed` when it cannot be taken (not when it is out of tolerance)."""


PROBES: Registry[type[Probe]] = Registry("probe", ("chaos.probes.builtin", "chaos.probes"))
register_probe = PROBES.register
