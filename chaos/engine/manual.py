"""What a manual step needs from the people in the loop: an `Operator` that returns when they are done.

The engine only knows this contract; `chaos.gameday` implements it for people at a terminal, `Unattended` (CI)
announces the step and goes on.
"""

from __future__ import annotations

import threading
from typing import Protocol

from chaos.log import get_logger

log = get_logger(__name__)


class Operator(Protocol):
    """Returns when the people say the instruction is done; raises a ChaosError (StepFailed) when they cannot."""

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event) -> None:
        ...


class Unattended:
    """No people in the loop (CI): a manual step is announced and the run goes on."""

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event) -> None:
        log.info("manual_step_skipped_unattended", step=step_id)
