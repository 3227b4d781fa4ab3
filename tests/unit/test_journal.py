"""The journal: faults written before they are applied; what a killed run left is found and reverted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tenacity import retry, retry_if_result, stop_after_delay, wait_fixed

from chaos.engine.engine import Engine
from chaos.engine.recover import recover
from chaos.events import FaultInjected, FaultInjecting, FaultReverted, RunStarted
from chaos.faults.base import FaultRecord
from chaos.journal import Journal, pending_faults, read_journal
from chaos.stack.interface import TargetRef
from tests.fakes import FakeWorld

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]


def record(step: str, **state: object) -> FaultRecord:
    return FaultRecord("fake-kill", step, (TargetRef("sbg-app1", "sbg-app-1", "sbg-app-1", "sbg", "app"),),
                       {"sets": {"up": False}}, dict(state))


def test_pending_faults_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    journal(RunStarted(run_id="r", runbook="t", runbook_path="t.yaml", project="fake", folder=str(tmp_path)))
    journal(FaultInjecting(record=record("a")))
    journal(FaultInjected(record=record("a", killed=["sbg-app1"]), duration_s=0.1))
    journal(FaultInjecting(record=record("b")))
    journal(FaultInjected(record=record("b"), duration_s=0.1))
    journal(FaultReverted(step_id="b", fault="fake-kill", by="duration", duration_s=0.1))
    journal(FaultInjecting(record=record("c")))  # the process died while applying c
    journal.close()
    with path.open("a") as f:
        f.write('{"event": "fault_inj')  # and mid-write of the next line
    pending = pending_faults(path)
    assert [f.step_id for f in pending] == ["a", "c"]
    assert pending[0].state == {"killed": ["sbg-app1"]}  # the most complete record wins
    assert pending[0].targets[0].datacenter == "sbg"
    assert pending_faults(tmp_path) == pending_faults(read_journal(path))


def test_a_failed_revert_leaves_the_fault_pending(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal(FaultInjecting(record=record("a")))
    journal(FaultReverted(step_id="a", fault="fake-kill", by="rollback", duration_s=0.0, ok=False, error="x"))
    journal.close()
    assert [f.step_id for f in pending_faults(tmp_path)] == ["a"]


class CrashingEngine(Engine):
    """Dies where the rollback would start, as a SIGKILL would: no revert, no run_finished."""

    def _rollback(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed")


def test_recover_reverts_a_destructive_fault_with_its_rebuild_step(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    text = (DATA / "datacenter-fire.yaml").read_text().replace("until: {eq: false}", "until: {eq: 42}") \
        .replace("timeout_s: 2", "timeout_s: 0.1", 1)
    runbook_path = tmp_path / "fire.yaml"
    runbook_path.write_text(text)
    runbook = world.load_file(runbook_path)
    with pytest.raises(SystemExit):
        world.engine(runbook, engine_class=CrashingEngine).run()
    folder = next((tmp_path / "reports" / "fake-datacenter-fire").iterdir())
    assert [f.step_id for f in pending_faults(folder)] == ["fire"]
    assert world.stack.states()["sbg-db"] == "killed"

    faults, probes = world.registries
    recovery = recover(folder, world.stack, playbooks=world.playbooks, state_dir=tmp_path / "state",
                       faults=faults, probes=probes)
    assert recovery.ok and [r.step_id for r in recovery.reverted] == ["fire"]
    assert world.playbooks.ran[-1] == "rebuild" and world.stack.values["fire_cleaned"]
    assert set(world.stack.states().values()) == {"running"}
    assert pending_faults(folder) == []
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["faults"][0]["reverted_by"] == "rebuild" and summary["verdict"] == "error"
    assert recover(folder, world.stack, state_dir=tmp_path / "state", faults=faults, probes=probes).reverted == []


CHILD = """
import sys
from pathlib import Path
from tests.fakes import FakeWorld
from tests.unit.test_engine import KILL_THEN_WAIT
world = FakeWorld(Path(sys.argv[1]))
world.engine(world.parse(KILL_THEN_WAIT)).run()
"""


def test_sigkilled_run_leaves_its_fault_in_the_journal_and_frees_the_lock(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path)], cwd=REPO,
                             stderr=subprocess.DEVNULL)
    try:
        journal = wait_for_injected(tmp_path)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert [f.step_id for f in pending_faults(journal)] == ["kill"]
    world = FakeWorld(tmp_path)  # a new process's view: the containers are still killed
    for target in world.stack.select({"datacenter": "sbg", "role": "app"}):
        target.status = "killed"
    faults, probes = world.registries
    recovery = recover(journal.parent, world.stack, state_dir=tmp_path / "state", faults=faults, probes=probes)
    assert recovery.ok and set(world.stack.states().values()) == {"running"}
    assert pending_faults(journal) == []


@retry(stop=stop_after_delay(20), wait=wait_fixed(0.05), retry=retry_if_result(lambda p: p is None))
def wait_for_injected(root: Path) -> Path | None:
    for path in root.glob("reports/*/*/journal.jsonl"):
        if any(r["event"] == "fault_injected" for r in read_journal(path)):
            return path
    return None
