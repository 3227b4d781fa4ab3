"""One exception hierarchy. Every message says what went wrong, where, and what to do.

The exit code of the CLI comes from the exception class (see DESIGN.md, "Results a run leaves").
"""

from __future__ import annotations

from collections.abc import Sequence


class ChaosError(Exception):
    """Root of every error entchaos raises on purpose."""

    exit_code = 4

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """What, where (`where: what`), then `-> fix`: the line the CLI prints."""
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.fix:
            parts.append(f"-> {self.fix}")
        return " ".join(parts)


class InvalidInput(ChaosError):
    """The user gave something we cannot use (runbook, option, profile). Nothing was injected."""

    exit_code = 2


class RunbookInvalid(InvalidInput):
    """A runbook failed validation; `where` is file:line, `problems` every problem found (each file:line)."""

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None,
                 problems: Sequence[object] = ()) -> None:
        super().__init__(what, where=where, fix=fix)
        self.problems = list(problems)


class EnvironmentProblem(ChaosError):
    """Docker, Compose, the stack or the kernel is not as needed."""

    exit_code = 4


class DockerUnavailable(EnvironmentProblem):
    """No Docker engine answers."""
    pass


class StackError(EnvironmentProblem):
    """The stack is not up, not healthy, or not labelled as entchaos needs."""


class StaleNetwork(StackError):
    """The engine keeps a network of the project that lists no container but will not go ("has active
    endpoints"): a Docker bug after a container was stopped and started again. Nothing of the project runs."""


class UnsupportedFault(EnvironmentProblem):
    """The fault cannot run here (for example netem missing from the kernel)."""


class FaultError(ChaosError):
    """Injecting or reverting a fault failed."""


class PlaybookFailed(ChaosError):
    """An Ansible remediation playbook failed; `what` carries the failing task's message."""


class ProbeFailed(ChaosError):
    """A probe could not take its measurement (not: the measurement was out of tolerance)."""


class Aborted(ChaosError):
    """A stop condition was breached, or the run was interrupted."""

    exit_code = 3
