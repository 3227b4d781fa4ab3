"""One run per stack: an advisory lock file per compose project.

flock is released by the kernel when the process dies, so a SIGKILLed run never leaves a stale lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from chaos.errors import EnvironmentProblem
from chaos.log import get_logger

log = get_logger(__name__)


class StackLock:
    """One run (or recover) per stack at a time: an exclusive advisory lock on a file per compose project."""

    def __init__(self, state_dir: str | Path, project: str) -> None:
        self.path = Path(state_dir) / "locks" / f"{project}.lock"
        self.project = project
        self._fd: int | None = None

    def acquire(self, owner: str = "") -> None:
        """Take the lock without waiting, writing our pid and `owner` in it; `EnvironmentProblem` naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise EnvironmentProblem(
                f"another run holds stack {self.project!r} ({holder})",
                where=str(self.path),
                fix="wait for it to finish, or stop it (it rolls back on SIGTERM)",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} {owner}\n".encode(), 0)
        self._fd = fd
        log.debug("stack_locked", project=self.project, path=str(self.path))

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StackLock:
        self.acquire()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()
