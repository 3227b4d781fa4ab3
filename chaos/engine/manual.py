"""What a manual step needs from the people in the loop: an `Operator` that returns when they have acted.

The engine only knows this contract; `chaos.gameday` implements it for people at a terminal and on the game-day
page, `Unattended` (CI) announces the step and goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, Protocol

from chaos.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Acknowledgement:
    """What the people said about a manual step: done, skipped (`text`: why) or abort the game day; who (`role`)
    and from where (`by`: the page, the terminal, or `unattended`)."""

    action: Literal["done", "skip", "abort"] = "done"
    role: str | None = None
    text: str = ""
    by: str = "terminal"


class Operator(Protocol):
    """Returns when the people have acted on the instruction; raises a ChaosError (StepFailed) when they cannot."""

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event,
                  role: str | None = None) -> Acknowledgement:
        ...


class Unattended:
    """No people in the loop (CI): a manual step is announced, then the engine follows the step's declared
    `unattended` fallback (done, skip) or fails it."""

    attended = False  # the engine reads this: nobody will answer, the step's fallback decides

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event,
                  role: str | None = None) -> Acknowledgement:
        log.info("manual_step_unattended", step=step_id)
        return Acknowledgement(role=role, by="unattended")
