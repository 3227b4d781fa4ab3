"""What a fault did to users, from the load's 100 ms ticks: pure arithmetic, no clock, no I/O.

- impact window: from the injection to the first moment from which availability stays at the hypothesis'
  level for `hold_s` (every 1 s sliding window inside that hold at the level), so an outage is never averaged
  with the calm that followed it;
- outage: the longest span during which availability over a sliding 1 s window, evaluated every 100 ms, stays
  below 50 %. Each evaluation stands for 100 ms of time, centred on its window (a refusal of exactly 3.0 s
  gives 3.0 s); an evaluation at exactly 50 % (an edge of the outage cut in half) counts half.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaos.load.interface import TICK_S, TickCount

SLIDE_TICKS = 10  # the sliding window: 1 s of ticks
OUTAGE_BELOW = 0.5


@dataclass(frozen=True)
class Impact:
    """What a fault did to users: from its injection to the moment availability held at the level again."""

    injected_at: float
    recovered_at: float | None  # start of the hold that proved recovery; None: not within the ticks given
    tried: int  # inside the impact window
    served: int
    outage_s: float
    outage_since: float | None
    outage_until: float | None

    @property
    def impact_window_s(self) -> float | None:
        return None if self.recovered_at is None else round(self.recovered_at - self.injected_at, 3)

    @property
    def availability(self) -> float | None:
        return self.served / self.tried if self.tried else None


def _slide_ok(ticks: Sequence[TickCount], end: int, level: float) -> bool:
    """The 1 s window ending before tick `end` is at the level (a window with no request says nothing: not ok)."""
    window = ticks[max(0, end - SLIDE_TICKS):end]
    tried = sum(t.tried for t in window)
    return tried > 0 and sum(t.served for t in window) >= level * tried


def recovery_index(ticks: Sequence[TickCount], level: float, hold_s: float) -> int | None:
    """Index of the first tick from which every 1 s window within the next `hold_s` is at `level`; None when no
    such hold fits in the ticks given. A window starting at the injection with no failure gives index 0."""
    hold = max(SLIDE_TICKS, round(hold_s / TICK_S))
    n = len(ticks)
    for k in range(0, n - hold + 1):
        if all(_slide_ok(ticks, end, level) for end in range(k + SLIDE_TICKS, k + hold + 1)):
            return k
    return None


def longest_outage(ticks: Sequence[TickCount], first_centre: int = SLIDE_TICKS // 2) -> tuple[
        float, float | None, float | None]:
    """(length s, since, until) of the longest span below 50 % (see the module's docstring), over the 1 s
    windows centred at tick `first_centre` or later."""
    best: tuple[float, float | None, float | None] = (0.0, None, None)
    run_w, run_start, run_below = 0.0, 0.0, False
    half = SLIDE_TICKS // 2
    for end in range(max(SLIDE_TICKS, first_centre + half), len(ticks) + 1):
        window = ticks[end - SLIDE_TICKS:end]
        tried, served = sum(t.tried for t in window), sum(t.served for t in window)
        weight = 0.0
        if tried and 2 * served < tried:
            weight = 1.0
        elif tried and 2 * served == tried:
            weight = 0.5
        if not weight:
            run_w, run_below = 0.0, False
            continue
        if run_w == 0.0:
            # The first evaluation's window is centred on the start of tick end - half; a full one means the
            # outage began half a tick before it, a tie (exactly 50 %) that it began right there.
            run_start = ticks[end - half].at - TICK_S * (weight - 0.5)
        run_w += weight
        run_below |= weight == 1.0
        if run_below and run_w * TICK_S > best[0] + 1e-9:
            best = (round(run_w * TICK_S, 3), run_start, run_start + run_w * TICK_S)
    return best


def measure_impact(ticks: Sequence[TickCount], injected_at: float, level: float, hold_s: float) -> Impact:
    """`ticks` run from 1 s before the injection (context for the sliding windows) to the end of what was
    measured; the impact window starts at the first tick at or after the injection."""
    first = next((i for i, t in enumerate(ticks) if t.at >= injected_at - 1e-6), len(ticks))
    after = ticks[first:]
    k = recovery_index(after, level, hold_s)
    inside = after if k is None else after[:k]
    end = len(ticks) if k is None else first + k + SLIDE_TICKS // 2
    outage_s, since, until = longest_outage(ticks[:end], first_centre=first)
    recovered_at = None if k is None else (after[k].at if k < len(after) else injected_at)
    return Impact(
        injected_at=injected_at,
        recovered_at=recovered_at,
        tried=sum(t.tried for t in inside),
        served=sum(t.served for t in inside),
        outage_s=outage_s,
        outage_since=since,
        outage_until=until,
    )
