"""A destructive fault names the steps that repair it (`reverted_by: [failover, rebuild]`): the rollback and
`entchaos recover` run those that have not succeeded yet, in order; the fault itself imports no remediation."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from chaos.engine.engine import Engine
from chaos.engine.recover import recover
from chaos.errors import RunbookInvalid
from chaos.journal import pending_faults, read_journal
from chaos.model import runbook as m
from tests.fakes import FakeWorld

ROOT = Path(__file__).resolve().parents[2]

FAILS = """\
  - id: check
    wait-for: fake-value
    params: {key: never}
    until: {eq: 1}
    timeout_s: 0.05
    interval_s: 0.01
"""


def fire(*, check_before_failover: bool, failover: str = "failover-database") -> str:
    text = f"""\
metadata: {{name: repair}}
steps:
  - id: fire
    fault: fake-fire
    target: {{datacenter: sbg}}
    params: {{sets: {{up: false}}}}
    reverted_by: [failover, rebuild]
  - id: failover
    playbook: {failover}
    extravars: {{sets: {{up: true}}}}
  - id: rebuild
    playbook: rebuild
"""
    at = "  - id: failover" if check_before_failover else "  - id: rebuild"
    return text.replace(at, FAILS + at)


class CrashingEngine(Engine):
    """Dies where the rollback would start, as a SIGKILL would: no revert, no run_finished."""

    def _rollback(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed")


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def finished(journal: Path) -> list[tuple[str, str, bool]]:
    return [(r["phase"], r["step_id"], r["ok"]) for r in read_journal(journal) if r["event"] == "step_finished"]


def test_reverted_by_names_one_step_or_several_in_order(world: FakeWorld) -> None:
    runbook = world.parse(fire(check_before_failover=False))
    step = runbook.steps[0]
    assert isinstance(step, m.FaultStep) and step.repair_steps == ("failover", "rebuild")
    for wrong, line, said in (("[rebuild, failover]", 7, "in the order they run"),
                              ("[failover, nope]", 7, "`nope` (no such step)"),
                              ("[failover, failover]", 7, "found `failover` twice"),
                              ("[]", 7, "at least 1 item")):
        with pytest.raises(RunbookInvalid) as info:
            world.parse(fire(check_before_failover=False).replace("[failover, rebuild]", wrong), "rb.yaml")
        assert any(str(p).startswith(f"rb.yaml:{line}: steps[0].reverted_by") and said in str(p)
                   for p in info.value.problems), info.value.problems


def test_rollback_runs_only_the_repair_steps_that_have_not_succeeded(world: FakeWorld) -> None:
    result = world.engine(world.parse(fire(check_before_failover=False))).run()
    assert (result.verdict, result.exit_code) == ("fail", 1), result.reason
    assert world.playbooks.ran == ["failover-database", "rebuild"]  # the failover is not run twice
    assert ("rollback", "rebuild", True) in finished(result.journal)
    assert pending_faults(result.journal) == [] and world.stack.values["fire_cleaned"]
    assert set(world.stack.states().values()) == {"running"}


def test_rollback_runs_the_repair_steps_in_order_when_the_run_stopped_before_them(world: FakeWorld) -> None:
    result = world.engine(world.parse(fire(check_before_failover=True))).run()
    assert result.verdict == "fail", result.reason
    assert world.playbooks.ran == ["failover-database", "rebuild"]
    assert [s for s in finished(result.journal) if s[0] == "rollback"] == [
        ("rollback", "failover", True), ("rollback", "rebuild", True)]
    assert pending_faults(result.journal) == [] and world.stack.values["up"] is True
    reverted = [r for r in read_journal(result.journal) if r["event"] == "fault_reverted"]
    assert [(r["step_id"], r["by"], r.get("ok", True)) for r in reverted] == [("fire", "rebuild", True)]


def test_a_failed_repair_step_stops_the_repair_and_leaves_the_fault_for_recover(world: FakeWorld) -> None:
    result = world.engine(world.parse(fire(check_before_failover=True, failover="fail"))).run()
    assert (result.verdict, result.exit_code) == ("error", 4), result.reason
    assert "rollback: step failover" in result.reason and "pg_ctl promote" in result.reason
    assert world.playbooks.ran == ["fail"]  # no rebuild on a database nobody failed over
    assert [f.step_id for f in pending_faults(result.journal)] == ["fire"]


def test_a_repair_step_may_live_in_the_rollback_only(world: FakeWorld) -> None:
    text = fire(check_before_failover=True).replace(
        "  - id: failover\n    playbook: failover-database\n    extravars: {sets: {up: true}}\n", "")
    text += "rollback:\n  - id: failover\n    playbook: failover-database\n    extravars: {sets: {up: true}}\n"
    result = world.engine(world.parse(text)).run()
    assert result.verdict == "fail", result.reason
    assert world.playbooks.ran == ["failover-database", "rebuild"]  # once: the rollback step is not run again
    assert pending_faults(result.journal) == []


@pytest.mark.parametrize(("check_before_failover", "ran"), [(False, ["rebuild"]),
                                                           (True, ["failover-database", "rebuild"])])
def test_recover_runs_the_repair_steps_the_journal_does_not_show_succeeded(
        tmp_path: Path, check_before_failover: bool, ran: list[str]) -> None:
    world = FakeWorld(tmp_path)
    path = tmp_path / "repair.yaml"
    path.write_text(fire(check_before_failover=check_before_failover))
    with pytest.raises(SystemExit):
        world.engine(world.load_file(path), engine_class=CrashingEngine).run()
    folder = next((tmp_path / "reports" / "repair").iterdir())
    assert [f.step_id for f in pending_faults(folder)] == ["fire"]
    before = len(world.playbooks.ran)
    faults, probes = world.registries
    recovery = recover(folder, world.stack, playbooks=world.playbooks, state_dir=tmp_path / "state",
                       faults=faults, probes=probes)
    assert recovery.ok and [r.step_id for r in recovery.reverted] == ["fire"]
    assert world.playbooks.ran[before:] == ran
    assert set(world.stack.states().values()) == {"running"} and pending_faults(folder) == []


def test_the_fire_hands_its_repair_to_the_runbook() -> None:
    """The datacenter-fire fault imports neither the probes nor the playbook runner."""
    tree = ast.parse((ROOT / "chaos" / "faults" / "datacenter_fire.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(name and (name.startswith("chaos.probes") or name.startswith("chaos.remediation"))
                   for name in imported), imported
