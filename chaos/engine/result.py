"""What a run returns, shaped like ansible-runner's result: a status, a code, a folder of artefacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from chaos.errors import ChaosError

Verdict = Literal["pass", "fail", "aborted", "error"]
EXIT_CODES: dict[str, int] = {"pass": 0, "fail": 1, "aborted": 3, "error": 4}


class StepFailed(ChaosError):
    """The system (or the people) did not do what a step waited for: the verdict is `fail`, not `error`."""

    exit_code = 1


@dataclass(frozen=True)
class CheckResult:
    """One check of the verdict: what was expected, what was observed, whether it passed."""

    name: str
    phase: str
    expected: str
    observed: Any
    passed: bool
    message: str = ""


@dataclass(frozen=True)
class RunResult:
    """What a run gives back: the verdict, its exit code and the folder of its artefacts (as ansible-runner)."""

    runbook: str
    verdict: Verdict
    exit_code: int
    folder: Path
    reason: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def status(self) -> Verdict:
        return self.verdict

    @property
    def rc(self) -> int:
        return self.exit_code

    @property
    def journal(self) -> Path:
        return self.folder / "journal.jsonl"

    @property
    def summary(self) -> Path:
        return self.folder / "summary.json"
