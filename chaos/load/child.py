"""What a generator started by the engine as a child process does for itself: a higher scheduling priority, so
the engine, the test runner or a busy neighbour do not make it late (its lateness is charged to the latencies it
measures), and an end with its parent, so a killed run does not leave it sending (it is bounded anyway)."""

from __future__ import annotations

import ctypes
import os
import signal
from pathlib import Path

from chaos.log import get_logger

log = get_logger(__name__)

_PR_SET_PDEATHSIG = 1


AUTOGROUP = Path("/proc/self/autogroup")


def raise_priority(nice: int) -> bool:
    """Set this process's nice value (negative = sooner); False, and a warning, when not allowed.

    With the kernel's autogroups (`sched_autogroup_enabled`), a nice value only counts inside the process's
    session: against other sessions (a busy neighbour, dockerd) the whole session weighs as one nice-0 task.
    So the generator runs in a session of its own (the engine starts it so) and sets its autogroup's nice too.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        if AUTOGROUP.exists():
            AUTOGROUP.write_text(str(nice))
    except OSError as exc:
        log.warning("load_priority_unchanged", nice=nice, error=str(exc),
                    fix="run as root or with CAP_SYS_NICE for steadier latencies on a busy machine")
        return False
    return True


def end_with_parent(parent_pid: int, sig: signal.Signals = signal.SIGINT) -> None:
    """Get `sig` (a clean stop) when the parent dies (Linux); when it is already gone, now."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the duration still bounds the run
        log.warning("load_parent_watch_unsupported")
    if os.getppid() != parent_pid:  # the parent died before prctl: nobody would tell us
        os.kill(os.getpid(), sig)
