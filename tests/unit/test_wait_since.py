"""A wait-for with `since:` measures users served again on requests sent after that step, never on the good
seconds before the fault (the live window of a load probe starts no earlier than the step waited from)."""

from __future__ import annotations

import pytest

from chaos.errors import ProbeFailed
from chaos.load.interface import LoadStats
from chaos.probes.base import PROBES, ProbeContext

FAULT_AT = 1000.0


class SplitLoad:
    """All served before the fault, nothing after: a window's availability says which side it counted."""

    def stats(self, since: float | None = None, until: float | None = None) -> LoadStats:
        assert since is not None and until is not None
        before = max(0.0, min(until, FAULT_AT) - since) * 100
        after = max(0.0, until - max(since, FAULT_AT)) * 100
        return LoadStats(requests=int(before + after), failures=int(after), since=since, until=until)


def availability(now: float, not_before: float | None) -> float | None:
    probe = PROBES.get("load-availability")({"window_s": 2, "min_requests": 10})
    ctx = ProbeContext(stack=None, load=SplitLoad(), clock=lambda: now, not_before=not_before)  # type: ignore[arg-type]
    return probe.measure(ctx)


def test_the_window_of_a_wait_for_since_a_fault_starts_at_the_fault() -> None:
    # 0.5 s after the fault, the last 2 s (ending 1 s ago) are all before it: 100 % served, which says nothing.
    assert availability(FAULT_AT + 0.5, None) == 1.0
    with pytest.raises(ProbeFailed, match="no request sent since"):
        availability(FAULT_AT + 0.5, FAULT_AT)  # not measured yet: polled again
    assert availability(FAULT_AT + 1.5, FAULT_AT) == 0.0  # only what was sent after the fault: none served
    assert availability(FAULT_AT + 2.5, None) == 0.25  # without `since`, a quarter of the window is before it
