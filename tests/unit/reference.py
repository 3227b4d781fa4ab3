"""The reference server in a known behaviour, and the engine run against it through the real load generator:
shared by the figure tests (tests/unit/test_figures.py) and the figure benchmark (bench/bench_figures.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvloop

from chaos.errors import ProbeFailed
from chaos.journal import read_journal
from chaos.load.handle import HostProcessLoad
from chaos.load.reference_server import Reply, start
from chaos.load.runner import LoadSpec
from chaos.load.schedule import constant
from tests.fakes import FakeWorld

SERVED = {"X-ENT-Replica": "ref-1", "X-ENT-Datacenter": "ref"}


class ReferenceServer:
    """The reference server in a thread; `refuse_for(s)` makes it answer 500 (not the app) to every request
    arriving in the next `s` seconds, and remembers exactly what it did."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.refusing: tuple[float, float] | None = None  # monotonic [from, to)
        self.log: list[tuple[float, bool]] = []  # (arrival, served), monotonic
        self.port = 0
        self._ready = threading.Event()
        self._loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def handler(self, method: str, path: str, body: bytes) -> Reply:
        now = time.monotonic()
        refused = self.refusing is not None and self.refusing[0] <= now < self.refusing[1]
        self.log.append((now, not refused))
        return Reply(500, {}, b"refused\n") if refused else Reply(200, SERVED, delay_s=self.delay_s)

    def refuse_for(self, seconds: float) -> None:
        now = time.monotonic()
        self.refusing = (now, now + seconds)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        server, self.port = self._loop.run_until_complete(start(self.handler))
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> ReferenceServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class NoLedgerLoad(HostProcessLoad):
    """The real generator in its own process, as in a run; no database behind the reference server, so no
    ledger to check."""

    def ledger_check(self) -> Any:
        raise ProbeFailed("no database behind the reference server")


# The reference server refuses for exactly 3.0 s from the fake fault's injection (the fake stack's `refuse` value
# is what the fault sets; the server starts its 3.0 s when it first sees it).
RUNBOOK = """\
metadata: {name: reference-refusal}
load: {profile: "constant:200", duration_s: 60, sample_s: 1}
hypothesis:
  probes:
    - {name: served, probe: load-availability, params: {window_s: 1, min_requests: 50}, expect: {gte: 0.99}}
  warmup_s: 5
  baseline_s: 2
  hold_s: 2
  check_after: false
steps:
  - id: refuse
    fault: fake-kill
    target: {datacenter: sbg, role: app}
    params: {sets: {refuse: true}}
  - id: hold
    playbook: slow
    extravars: {seconds: 3.2}
  - {id: back, revert: refuse}
  - {id: calm, playbook: slow, extravars: {seconds: 3}}   # the recovery hold (2 s) is seen before verify
verify:
  - outage_s: {gte: 2.9, lte: 3.1}
"""


BASELINE_ONLY = """\
metadata: {name: reference-baseline}
load: {profile: "constant:200", duration_s: 60}
hypothesis:
  probes:
    - {name: served, probe: load-availability, params: {window_s: 1, min_requests: 50}, expect: {gte: 0.99}}
  warmup_s: 5
  baseline_s: 3
  check_after: false
steps:
  - {id: nothing, probe: constant, params: {value: 1}}
verify:
  - {name: steady p95, latency: {percentile: 95, lte_ms: BOUND}, window: baseline}
"""


class ServerProcess:
    """The reference server in its own process: a server thread beside the generator would share its GIL, and
    the latency measured would be the two threads' contention, not the server's delay."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s, self.refusing, self.log = delay_s, None, []
        self.port = _free_port()

    def refuse_for(self, seconds: float) -> None:
        raise AssertionError("the process server cannot refuse")

    def __enter__(self) -> ServerProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "chaos.load.reference_server", "--port", str(self.port),
                                      "--delay-ms", str(self.delay_s * 1000)])
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return self
            time.sleep(0.05)
        raise AssertionError("the reference server did not start")

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_reference(tmp_path: Path, text: str, delay_s: float = 0.0, *, process: bool = False) -> tuple[
        Any, Any, list[dict]]:
    world = FakeWorld(tmp_path)
    with ServerProcess(delay_s) if process else ReferenceServer(delay_s) as server:
        original_set = world.stack.set

        def set_and_refuse(**values: Any) -> None:
            original_set(**values)
            if values.get("refuse") and server.refusing is None:
                server.refuse_for(3.0)

        world.stack.set = set_and_refuse  # type: ignore[method-assign]

        def factory(spec: Any, stack: Any) -> NoLedgerLoad:
            load_spec = LoadSpec(schedule=constant(200, 60), target=f"http://127.0.0.1:{server.port}",
                                 mix={"flood": 1.0}, timeout_s=2.0)
            return NoLedgerLoad(load_spec, stack)

        result = world.engine(world.parse(text), load_factory=factory, settle_s=1.0).run()
    return result, server, list(read_journal(result.journal))
