"""Goodput, class latency and offered rate over the load's own seconds; the capacity ramp's arithmetic."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.errors import ProbeFailed
from chaos.load.classify import APP, SHED, TIMEOUT
from chaos.load.stats import LoadStats
from chaos.probes.base import ProbeContext
from chaos.probes.goodput import LoadClassLatency, LoadGoodput, LoadOffered, best_and_worst_mean, goodput_series


class Handle:
    def __init__(self, stats: LoadStats) -> None:
        self.raw = stats

    def raw_stats(self) -> LoadStats:
        return self.raw


def rush(start: float = 1000.0) -> LoadStats:
    """10 s: 100 app answers/s in 50 ms; from s 5 on, only 20/s in time, 80 late (2 s), 300 shed in 5 ms."""
    stats = LoadStats(start=start, start_unix=start)
    step = stats.step_id("login")
    for sec in range(10):
        for i in range(100):
            t = start + sec + i / 1000
            late = sec >= 5 and i >= 20
            stats.record(step, APP, True, t, t + (2.0 if late else 0.05))
        if sec >= 5:
            for i in range(300):
                t = start + sec + i / 1000
                stats.record(step, SHED, True, t, t + 0.005)
    return stats


def ctx(stats: LoadStats, now: float = 1020.0, **metrics: float) -> ProbeContext:
    return ProbeContext(stack=None, load=Handle(stats), metrics=metrics, clock=lambda: now)  # type: ignore[arg-type]


def test_goodput_counts_only_app_answers_within_the_slo() -> None:
    series = goodput_series(rush(), 0, 10, 1000)
    assert series == [100] * 5 + [20] * 5
    assert goodput_series(rush(), 0, 10, 3000) == [100] * 10  # with a looser SLO the late ones count
    assert best_and_worst_mean(series, 3) == (100, 20)
    with pytest.raises(ProbeFailed):
        best_and_worst_mean([1, 2], 3)


def test_goodput_probe_is_a_ratio_of_the_capacity_and_can_fail() -> None:
    probe = LoadGoodput({"from_s": 0, "to_s": 10, "slo_ms": 1000, "relative_to": "capacity_rps"})
    assert probe.measure(ctx(rush(), capacity_rps=100.0)) == 0.2  # collapsed: a fifth of the capacity
    assert LoadGoodput({"from_s": 0, "to_s": 5, "relative_to": "capacity_rps"}).measure(
        ctx(rush(), capacity_rps=100.0)) == 1.0
    with pytest.raises(ProbeFailed, match="not recorded"):
        probe.measure(ctx(rush()))


def test_class_latency_and_offered_rate() -> None:
    stats = rush()
    shed_p99 = LoadClassLatency({"classes": ["shed"], "percentile": 99, "from_s": 5, "to_s": 10}).measure(ctx(stats))
    assert shed_p99 == pytest.approx(5, rel=0.01)
    admitted = LoadClassLatency({"classes": ["app"], "percentile": 95, "from_s": 5, "to_s": 10}).measure(ctx(stats))
    assert admitted == pytest.approx(2000, rel=0.01)
    assert LoadClassLatency({"classes": ["timeout"], "from_s": 0}).measure(ctx(stats)) is None  # none at all
    offered = LoadOffered({"from_s": 5, "to_s": 10, "relative_to": "capacity_rps"}).measure(ctx(stats, capacity_rps=40))
    assert offered == 10.0  # 400/s offered against a capacity of 40/s
    assert TIMEOUT != APP  # the classes are distinct indexes


def test_windows_end_before_the_newest_second() -> None:
    stats = rush()
    # now = 1008.5: the window [0, to_s=10) is cut at now - 1 s = 7.5 s (seconds 0..7)
    assert LoadOffered({"from_s": 0, "to_s": 10}).measure(ctx(stats, now=1008.5)) == pytest.approx(
        (5 * 100 + 3 * 400) / 7.5, rel=0.01)


def test_capacity_is_what_the_stack_sustains_once_saturated() -> None:
    from chaos.probes.capacity import capacity_from

    offered = [10, 20, 40, 80, 120, 160, 200, 240, 280, 320]
    plateau = [10, 20, 40, 80, 100, 130, 95, 100, 105, 98]  # protected: a plateau, one lucky second at 130
    assert capacity_from(plateau, offered, None, 3) == pytest.approx(103.3, abs=0.1)  # not the lucky 108
    collapse = [10, 20, 40, 80, 90, 60, 20, 5, 2, 1]  # unprotected: p95 over the SLO from second 5 on
    assert capacity_from(collapse, offered, 5, 3) == pytest.approx(73.3, abs=0.1)  # before the knee, not ~2


def test_a_ramp_that_never_saturates_measures_no_capacity() -> None:
    """A server that answers everything at once: the probe says the ramp was too small, not "capacity = top"."""
    import asyncio
    import threading

    from chaos.load.reference_server import fixed, start
    from chaos.probes.capacity import Capacity

    ready, stop = threading.Event(), threading.Event()
    port: list[int] = []

    def serve() -> None:
        async def main() -> None:
            server, p = await start(fixed(0.001))
            port.append(p)
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)
            server.close()

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)

    class Stack:
        def edge_url(self) -> str:
            return f"http://127.0.0.1:{port[0]}"

    try:
        probe = Capacity({"from_rps": 20, "to_rps": 60, "ramp_s": 5, "smooth_s": 2})
        with pytest.raises(ProbeFailed, match="never saturated"):
            probe.measure(ProbeContext(stack=Stack()))  # type: ignore[arg-type]
    finally:
        stop.set()
        thread.join(5)


def _ramp_of(answer: Any) -> Any:
    """8 seconds of 100 requests each; `answer(sec, i)` gives each one's class and latency."""
    from chaos.load.stats import LoadStats

    stats = LoadStats()
    stats.start, stats.start_unix = 0.0, 1000.0
    stats.step_id("login.login")
    for sec in range(8):
        for i in range(100):
            t = sec + i / 100
            cls, latency = answer(sec, i)
            stats.record(0, cls, False, t, t + latency)
    return stats


def test_a_collapse_into_timeouts_is_a_knee_even_when_the_few_answers_stay_fast() -> None:
    from chaos.load.classify import APP, SHED, TIMEOUT
    from chaos.probes.capacity import knee_of

    # From second 3 on, 95 % time out while the app's few answers stay fast (its p95 never breaks the SLO).
    collapse = _ramp_of(lambda sec, i: (APP, 0.02) if sec < 3 or i < 5 else (TIMEOUT, 5.0))
    assert knee_of(collapse, 8, 1000.0) == (3, "failures")
    shed = _ramp_of(lambda sec, i: (APP if sec < 3 or i < 20 else SHED, 0.02))  # a protected stack sheds
    assert knee_of(shed, 8, 1000.0) == (None, None)
