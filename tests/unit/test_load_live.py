"""Live statistics between processes: the delta lines a generator appends give back the same windows and ledger as
the generator's own memory, whatever was answered late; and the generator as a child process of the engine."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from chaos.load.classify import APP, SHED, TIMEOUT
from chaos.load.handle import HostProcessLoad
from chaos.load.ledger import WriteLedger
from chaos.load.live import LiveReader, LiveWriter
from chaos.load.runner import LoadSpec
from chaos.load.schedule import constant
from chaos.load.stats import LoadStats
from tests.unit.reference import ReferenceServer


def _same(a: LoadStats, b: LoadStats) -> None:
    for lo, hi in ((0, 3), (1, 2), (0.5, 2.5), (0, 100)):
        wa, wb = a.window(lo, hi), b.window(lo, hi)
        assert (wa.reads, wa.writes) == (wb.reads, wb.writes)
        assert wa.percentile_ms(99) == wb.percentile_ms(99) and wa.percentile_ms(50) == wb.percentile_ms(50)
    assert a.totals == b.totals


def test_deltas_replay_to_the_same_windows_and_ledger(tmp_path: Path) -> None:
    stats, ledger = LoadStats(start=100.0, start_unix=5000.0), WriteLedger()
    step = stats.step_id("pupil.login")
    writer, reader = LiveWriter(stats, ledger, tmp_path / "live.jsonl"), LiveReader()
    sizes = []
    for second in range(3):
        for i in range(100):
            t = 100.0 + second + i / 100
            stats.dispatched(t)
            stats.record(step, APP if i % 3 else SHED, i % 2 == 0, t, t + 0.001 * (i % 50 + 1))
        ledger.attempt(f"k{second}", 5000.0 + second)
        # An answer arriving late, to a tick already written: its line must replace the tick, not add to it.
        stats.record(step, TIMEOUT, False, 100.05, 100.05 + 5)
        ledger.answer("k0", APP, 201, 5003.0)
        writer.write(max_lag_ms=[3.0, 40.0, 12.0][second])
        sizes.append((tmp_path / "live.jsonl").stat().st_size)
        reader.read_file(tmp_path / "live.jsonl")
    assert reader.stats is not None
    _same(stats, reader.stats)
    assert reader.max_lag_ms == 40.0  # the generator's worst lateness so far, not its last
    assert reader.ledger.acknowledged_keys == {"k0"} and set(reader.ledger.attempts) == {"k0", "k1", "k2"}
    # Each line holds what changed, not the run so far: the third is no longer than the first (+ the header).
    lines = (tmp_path / "live.jsonl").read_bytes().splitlines()
    assert len(lines) == 4 and len(lines[3]) <= len(lines[1]) * 1.2


def test_a_line_being_written_is_read_next_time(tmp_path: Path) -> None:
    stats, ledger = LoadStats(start=0.0, start_unix=1.0), WriteLedger()
    step = stats.step_id("s")
    stats.record(step, APP, False, 0.01, 0.02)
    LiveWriter(stats, ledger, tmp_path / "live.jsonl").write()
    whole = (tmp_path / "live.jsonl").read_bytes()
    reader = LiveReader()
    reader.feed(whole[:-10])  # the header and half the delta
    assert reader.stats is not None and reader.stats.totals[APP] == 0
    reader.feed(whole)
    assert reader.stats.totals[APP] == 1


def test_a_file_from_another_version_is_refused_clearly() -> None:
    reader = LiveReader()
    try:
        reader.feed(json.dumps({"ticks": {}}).encode() + b"\n")
    except ValueError as exc:
        assert "header" in str(exc)
    else:
        raise AssertionError("a live file without its header was accepted")


def test_the_generator_runs_in_its_own_process_and_cleans_up() -> None:
    with ReferenceServer() as server:
        spec = LoadSpec(constant(100, 2.0), target=f"http://127.0.0.1:{server.port}", mix={"login": 1.0}, drain_s=1.0)
        load = HostProcessLoad(spec, None)
        load.start()
        assert load.process is not None and load.process.pid != os.getpid()
        deadline = time.monotonic() + 10
        while not load.wait(0.2):
            assert time.monotonic() < deadline
        load.stop()
    assert load.failure is None
    stats = load.raw_stats()
    assert stats.totals[APP] == 200 and len(server.log) == 200
    assert not load.live_path.parent.exists()  # its files are gone, its figures kept


def test_the_generator_in_its_own_process_pauses_and_resumes_on_the_facilitators_word() -> None:
    with ReferenceServer() as server:
        spec = LoadSpec(constant(100, 4.0), target=f"http://127.0.0.1:{server.port}", mix={"login": 1.0}, drain_s=1.0)
        load = HostProcessLoad(spec, None)
        load.start()
        deadline = time.monotonic() + 10
        while not (load.live_path.exists() and len(server.log) >= 20):  # sending, its handlers in place
            assert time.monotonic() < deadline, "the generator never started"
            time.sleep(0.05)
        load.pause(True)  # SIGUSR1: chaos.load.cli_args
        time.sleep(0.3)  # what was in flight lands
        before = len(server.log)
        time.sleep(1.0)
        during = len(server.log) - before
        load.pause(False)
        while not load.wait(0.2):
            assert time.monotonic() < deadline + 10
        load.stop()
    assert load.failure is None
    sent = load.raw_stats().totals[APP]
    assert during == 0, f"{during} requests while paused"
    assert sent <= 400 - 100 and sent == len(server.log), sent  # 1.3 s of arrivals dropped, not sent late


def test_a_generator_whose_engine_died_stops() -> None:
    # An engine SIGKILLed mid-run: its generator must not send until its duration ends (here 60 s).
    engine = textwrap.dedent("""
        import sys, time
        from chaos.load.handle import HostProcessLoad
        from chaos.load.runner import LoadSpec
        from chaos.load.schedule import constant
        load = HostProcessLoad(LoadSpec(constant(5, 60.0), target="http://127.0.0.1:9"), None)
        load.start()
        print(load.process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", engine], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    time.sleep(1.0)
    assert Path(f"/proc/{child}").exists()
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it was reparented to us; otherwise init does
            os.waitpid(child, os.WNOHANG)
        time.sleep(0.1)
    status = Path(f"/proc/{child}/stat").read_text().split()[2] if Path(f"/proc/{child}").exists() else "gone"
    assert status in ("gone", "Z"), f"the orphaned generator still runs ({status})"
