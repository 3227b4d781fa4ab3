"""The people of a game day at a terminal: a manual step waits for them to press Enter (the engine times them)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed
from tenacity.stop import stop_never, stop_when_event_set

from chaos.engine.manual import Acknowledgement
from chaos.engine.result import StepFailed
from chaos.engine.signals import sleep_until_set


class ConsoleOperator:
    """Asks on a terminal and waits for Enter (the prompt itself is the console view's job)."""

    def __init__(self, stdin: TextIO | None = None, stream: TextIO | None = None) -> None:
        self.stdin = stdin or sys.stdin
        self.stream = stream or sys.stderr

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event,
                  role: str | None = None) -> Acknowledgement:
        done = threading.Event()
        self.stream.write(f"    press Enter when done ({step_id})\n")
        self.stream.flush()
        def read() -> None:  # readline blocks: a daemon thread reads, so that abort and timeout stay in our hands
            self.stdin.readline()
            done.set()

        threading.Thread(target=read, daemon=True).start()
        stop = (stop_after_delay(timeout_s) if timeout_s else stop_never) | stop_when_event_set(abort)
        try:
            Retrying(stop=stop, wait=wait_fixed(0.2), retry=retry_if_result(lambda ok: not ok),
                     sleep=sleep_until_set(abort))(done.is_set)
        except RetryError:
            if not abort.is_set():
                raise StepFailed(f"nobody confirmed manual step {step_id} within {timeout_s:g} s",
                                 fix="the game day's clock ran out") from None
        return Acknowledgement(role=role, by="terminal")
