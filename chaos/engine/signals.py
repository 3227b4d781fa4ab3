"""SIGTERM and Ctrl-C become exceptions while a run goes on, so that `finally: rollback` runs;
during the rollback they are noted and held off: half a rollback is worse than none.

One guard for the whole run, switched from `raise` to `hold`, so there is no moment without a handler.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from chaos.errors import Aborted
from chaos.log import get_logger

log = get_logger(__name__)

GUARDED = (signal.SIGTERM, signal.SIGINT)


def sleep_until_set(event: threading.Event) -> Callable[[float], None]:
    """A tenacity `sleep` that wakes at once when `event` is set (an abort cuts the wait short)."""

    def sleep(seconds: float) -> None:
        event.wait(seconds)

    return sleep


class Terminated(Aborted):
    """The run got SIGTERM; it rolls back, then exits 3."""


class SignalGuard:
    """SIGTERM and Ctrl-C raise in the main thread while the run goes on, and are only noted once `hold`ing."""

    def __init__(self) -> None:
        self.holding = False
        self.received: list[str] = []
        self._previous: dict[int, Any] = {}
        self._active = threading.current_thread() is threading.main_thread()  # handlers live in the main thread

    def hold(self) -> None:
        """From now on (the rollback) a signal is logged and ignored."""
        self.holding = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self.holding:
            log.warning("signal_held_off_during_rollback", signal=name)
            return
        self.holding = True  # the first signal starts the rollback; the next ones must not cut it
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(f"the run got {name}", fix="it rolled back; `entchaos recover` if it is killed harder")

    def __enter__(self) -> SignalGuard:
        if self._active:
            self._previous = {sig: signal.signal(sig, self._handle) for sig in GUARDED}
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for sig, old in self._previous.items():
            signal.signal(sig, old)
