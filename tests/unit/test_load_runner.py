"""The runner: open model under a stalled server, bounds, journeys against a fake ENT app, stats and probes."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from typing import Any

import pytest
import uvloop
from hdrh.histogram import HdrHistogram

from chaos.errors import ProbeFailed
from chaos.load.reference_server import Reply, Stall, start
from chaos.load.runner import LoadResult, LoadRunner, LoadSpec, Progress
from chaos.load.schedule import constant
from chaos.load.stats import HIGHEST_US, LoadStats, hdr_index
from chaos.probes import load_stats

REPLICA = {"X-ENT-Replica": "app-sbg-1", "X-ENT-Datacenter": "sbg"}


def run_against(handler: Any, spec_kw: dict[str, Any], stall: Stall | None = None, progress: Any = None) -> LoadResult:
    async def go() -> LoadResult:
        server, port = await start(handler, stall=stall)
        spec = LoadSpec(target=f"http://127.0.0.1:{port}", **spec_kw)
        try:
            return await LoadRunner(spec, progress).run()
        finally:
            server.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(go())


def test_stalled_server_does_not_lower_the_sent_rate() -> None:
    # Everything stalls for 1 s from the run's start: a closed-loop tool would send ~nothing during it.
    stall = Stall(period_s=100.0, pause_s=1.0, phase=time.monotonic())
    ticks: list[Progress] = []
    res = run_against(
        lambda m, p, b: Reply(200, REPLICA, delay_s=0.005),
        {"schedule": constant(200, 2.0), "timeout_s": 3.0, "max_connections": 1000},
        stall=stall,
        progress=ticks.append,
    )
    assert res.sent == 400
    assert res.stats.total == 400
    per_second = [row["sent"] for row in res.stats.series()]
    assert per_second == [200, 200]
    # requests intended during the stall carry it: from ~1 s down to ~0
    first = res.stats.window(0, 1)
    assert first.percentile_ms(99) > 900
    assert ticks and ticks[0].sent_rate == pytest.approx(200, abs=5)


def test_hanging_server_times_out_and_run_still_ends() -> None:
    t0 = time.monotonic()
    res = run_against(
        lambda m, p, b: Reply(action="hang"),
        {"schedule": constant(100, 1.0), "timeout_s": 0.3, "max_connections": 500, "drain_s": 1.0},
    )
    assert time.monotonic() - t0 < 3.0
    assert res.sent == 100 and res.stats.summary()["by_class"]["timeout"] == 100


def test_bounds_stop_the_run() -> None:
    res = run_against(lambda m, p, b: Reply(200, REPLICA), {"schedule": constant(1000, 30.0, max_requests=37)})
    assert res.sent == 37 and res.stats.total == 37
    t0 = time.monotonic()
    res = run_against(lambda m, p, b: Reply(200, REPLICA), {"schedule": constant(50, 0.5)})
    assert res.sent == 25 and time.monotonic() - t0 < 2.0


def test_stop_ends_dispatch_early() -> None:
    async def go() -> LoadResult:
        server, port = await start(lambda m, p, b: Reply(200, REPLICA))
        runner = LoadRunner(LoadSpec(constant(100, 30.0), target=f"http://127.0.0.1:{port}", drain_s=0.5))
        asyncio.get_running_loop().call_later(0.3, runner.stop)
        res = await runner.run()
        server.close()
        return res

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
        res = r.run(go())
    assert res.stopped_early and 20 <= res.sent <= 50


def test_a_paused_load_drops_the_arrivals_due_meanwhile_then_keeps_its_schedule() -> None:
    async def go() -> tuple[LoadResult, LoadRunner]:
        server, port = await start(lambda m, p, b: Reply(200, REPLICA))
        runner = LoadRunner(LoadSpec(constant(100, 1.5), target=f"http://127.0.0.1:{port}", drain_s=0.5))
        loop = asyncio.get_running_loop()
        loop.call_later(0.5, runner.pause)
        loop.call_later(1.0, runner.resume)
        res = await runner.run()
        server.close()
        return res, runner

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as r:
        res, runner = r.run(go())
    halves = [row["sent"] for row in res.stats.series(0.5)]
    assert runner.skipped == pytest.approx(50, abs=3) and res.sent + runner.skipped == 150
    assert halves[0] == pytest.approx(50, abs=3) and halves[1] <= 3 and halves[2] == pytest.approx(50, abs=3)


class FakeEnt:
    """Just enough of the ENT API for the journeys; loses one acknowledged write on purpose later."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.paths: list[str] = []
        self.ids = itertools.count(1)

    def __call__(self, method: str, path: str, body: bytes) -> Reply:
        self.paths.append(f"{method} {path}")
        if path == "/api/login":
            login = json.loads(body)["login"]
            user = {"id": 1, "login": login, "role": "pupil", "class_id": 7}
            return self._json(200, {"token": "tok-" + login, "user": user})
        if path == "/api/homework" and method == "GET":
            return self._json(200, [{"id": 3}, {"id": 4}])
        if path.endswith("/submissions"):
            key = json.loads(body)["key"]
            self.keys.append(key)
            return self._json(201, {"id": next(self.ids), "key": key, "replica": "app-rbx-2", "datacenter": "rbx"})
        if path == "/api/homework":
            return self._json(201, {"id": 9})
        return self._json(200, {"ok": True})

    @staticmethod
    def _json(status: int, obj: Any) -> Reply:
        return Reply(status, {**REPLICA, "Content-Type": "application/json"}, json.dumps(obj).encode())


def test_journeys_against_a_fake_ent_feed_stats_and_ledger() -> None:
    app = FakeEnt()
    res = run_against(
        app,
        {"schedule": constant(40, 1.0), "mix": {"pupil": 3, "teacher": 1, "virtual_class": 1}, "seed": 4},
    )
    summary = res.stats.summary()
    assert summary["by_class"]["app"] == res.stats.total > 40
    assert {"pupil.login", "pupil.submit", "teacher.post_homework", "virtual_class.join"} <= set(summary["steps"])
    assert "POST /api/classes/7/join" in app.paths
    assert any(p.startswith("GET /api/resources/") for p in app.paths)
    acked = res.ledger.acknowledged_keys
    assert acked and acked == set(app.keys)
    assert res.ledger.attempts[app.keys[0]].replica == "app-rbx-2"
    # the database "loses" one acknowledged write: the ledger says so
    check = res.ledger.check(app.keys[1:])
    assert check.lost == [app.keys[0]]


def test_stats_index_matches_hdrhistogram_and_windows() -> None:
    h = HdrHistogram(1, HIGHEST_US, 3)
    for v in [1, 2, 2047, 2048, 2049, 10**6, HIGHEST_US, *random.Random(1).sample(range(1, HIGHEST_US), 2000)]:
        assert hdr_index(v) == h._counts_index_for(v)
    st = LoadStats(start=100.0, start_unix=1000.0)
    step = st.step_id("s")
    for i in range(100):  # second 0: reads all app, 10 ms; second 1: half timeouts at 2 s; writes: 1 fallback
        st.record(step, 0, False, 100.0 + i / 100, 100.0 + i / 100 + 0.010)
        st.record(step, 4 if i % 2 else 0, False, 101.0 + i / 100, 101.0 + i / 100 + (2.0 if i % 2 else 0.010))
    st.record(step, 1, True, 100.5, 100.6)
    assert load_stats.availability(st, 0, 1, kind="read").value == 1.0
    assert load_stats.availability(st, 0, 1, kind="write").value == 0.0
    assert load_stats.availability(st, 1, 2).value == 0.5
    assert load_stats.percentile_ms(st, 50, 0, 1).value == pytest.approx(10, rel=0.01)
    assert load_stats.percentile_ms(st, 99, 1, 2).value == pytest.approx(2000, rel=0.01)
    assert load_stats.percentile_ms(st, 99, 1, 2, classes=["app"]).value == pytest.approx(10, rel=0.01)
    s, e = load_stats.window_of(st, 1001.0, 1002.0)
    assert (s, e) == (1.0, 2.0)
    with pytest.raises(ProbeFailed):
        load_stats.availability(st, 5, 6)
    rows = st.series()
    assert [r["sent"] for r in rows] == [101, 100] and rows[1]["by_class"]["timeout"] == 50


def test_jsonl_export(tmp_path) -> None:
    res = run_against(lambda m, p, b: Reply(200, REPLICA), {"schedule": constant(100, 1.0)})
    path = res.stats.write_jsonl(tmp_path / "series.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["type"] == "second" and lines[-1]["type"] == "summary"
    assert lines[-1]["classes"]["app"]["count"] == 100 and lines[-1]["classes"]["app"]["hdr"]


def test_a_snapshot_gives_the_same_windows_back() -> None:
    from chaos.load.classify import APP, SHED
    from chaos.load.stats import LoadStats

    stats = LoadStats(start=100.0, start_unix=5000.0)
    step = stats.step_id("pupil.login")
    for i in range(300):
        t = 100.0 + i / 100
        stats.record(step, APP if i % 3 else SHED, i % 2 == 0, t, t + 0.001 * (i % 50 + 1))
    again = LoadStats.from_snapshot(json.loads(json.dumps(stats.snapshot())))
    for lo, hi in ((0, 3), (1, 2), (0.5, 2.5)):
        a, b = stats.window(lo, hi), again.window(lo, hi)
        assert (a.reads, a.writes) == (b.reads, b.writes)
        assert a.percentile_ms(99) == b.percentile_ms(99) and a.percentile_ms(50) == b.percentile_ms(50)
    assert again.offset_of(5001.5) == 1.5 and again.totals == stats.totals


def test_a_stalled_generator_reports_its_lateness() -> None:
    # The generator's own loop is blocked for 0.3 s (a GC pause, another thread holding the GIL): the burst
    # sent after it was due up to 0.3 s earlier, and max_lag_ms must say so (not the last arrival's ~0 ms).
    async def go() -> LoadResult:
        server, port = await start(lambda m, p, b: Reply(200, REPLICA))
        spec = LoadSpec(constant(200, 1.0), target=f"http://127.0.0.1:{port}", drain_s=1.0)
        asyncio.get_running_loop().call_later(0.3, time.sleep, 0.3)
        try:
            return await LoadRunner(spec).run()
        finally:
            server.close()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        res = runner.run(go())
    assert res.sent == 200
    assert 250 <= res.max_lag_ms < 600


@pytest.mark.parametrize(("served_by", "cls"), [("markers", "error"), ("status", "app")])
def test_another_stacks_answers_count_as_served_by_status(served_by: str, cls: str) -> None:
    # A plain 200 (no ENT marker header): an error for the ENT (something else answered), served for any
    # other stack; a 503 with Retry-After is shed either way.
    res = run_against(lambda m, p, b: Reply(200, {}), {"schedule": constant(50, 0.5), "served_by": served_by})
    assert res.stats.summary()["by_class"][cls] == 25
    shed = run_against(lambda m, p, b: Reply(503, {"Retry-After": "1"}),
                       {"schedule": constant(50, 0.5), "served_by": served_by})
    assert shed.stats.summary()["by_class"]["shed"] == 25
