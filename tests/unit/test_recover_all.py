"""`entchaos recover` with no argument: every run with a fault left is found and reverted, once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.engine.engine import Engine
from chaos.engine.lock import StackLock
from chaos.engine.recover import find_pending, recover_all
from chaos.events import FaultInjecting, RunStarted
from chaos.faults.base import FaultRecord
from chaos.journal import Journal, pending_faults, read_run
from chaos.report.folder import run_folders
from chaos.stack.interface import TargetRef
from tests.fakes import FakeWorld


def kill(name: str, datacenter: str, sets: str) -> str:
    return f"""\
metadata: {{name: {name}}}
steps:
  - id: kill-{datacenter}
    fault: fake-kill
    target: {{datacenter: {datacenter}, role: app}}
    params: {{sets: {{{sets}: false}}}}
  - id: hold
    wait-for: fake-value
    params: {{key: never}}
    until: {{eq: 1}}
    timeout_s: 5
    interval_s: 0.02
"""


class KilledAtRollback(Engine):
    """Dies where the rollback would start, as a SIGKILL would: no revert, no run_finished."""

    def _rollback(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed")


class KilledAtFirstStep(Engine):
    """Dies as the first step starts: the journal has run_started and nothing after the plan."""

    def _experiment(self, *args: object, **kwargs: object) -> None:
        raise SystemExit("killed")


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def killed_run(world: FakeWorld, text: str, engine_class: type[Engine] = KilledAtRollback) -> Path:
    with pytest.raises(SystemExit):
        world.engine(world.parse(text.replace("timeout_s: 5", "timeout_s: 0.05")), engine_class=engine_class).run()
    return (world.root / "reports" / "latest").resolve()


def recover_everything(world: FakeWorld, **options: object):
    faults, probes = world.registries
    return recover_all(world.root / "reports", lambda run: world.stack, playbooks_for=lambda s: world.playbooks,
                       state_dir=world.root / "state", faults=faults, probes=probes, **options)


def test_latest_points_at_a_run_from_its_start(world: FakeWorld) -> None:
    first = killed_run(world, kill("one", "sbg", "a"))
    assert first.parent.name == "one" and pending_faults(first)
    second = killed_run(world, kill("two", "rbx", "b"), KilledAtFirstStep)  # no fault, no report written
    assert second.parent.name == "two" and not (second / "summary.json").exists()


def test_every_killed_run_is_found_and_reverted_newest_first_then_nothing(world: FakeWorld) -> None:
    world.engine(world.parse(kill("done", "sbg", "c").replace("timeout_s: 5", "timeout_s: 0.05"))).run()
    older = killed_run(world, kill("one", "sbg", "a"))
    newer = killed_run(world, kill("two", "rbx", "b"))
    # a run killed before its first report: only the intent of its fault is in the journal
    early = world.root / "reports" / "three" / "20990101T000000Z"
    journal = Journal(early / "journal.jsonl")
    journal(RunStarted(run_id="r", runbook="three", runbook_path="three.yaml", project="fake", folder=str(early)))
    edge = world.stack.by_id("edge0")
    journal(FaultInjecting(record=FaultRecord("fake-kill", "kill-edge", (TargetRef.of(edge),), {}, {})))
    journal.close()
    edge.status = "killed"
    assert world.stack.states()["sbg-app1"] == "killed" and world.stack.states()["rbx-app1"] == "killed"
    assert len(run_folders(world.root / "reports")) == 4

    found = [run.folder for run in find_pending(world.root / "reports")]
    assert found == [early, newer, older]  # newest first; the finished run has nothing left
    seen: list[Path] = []
    result = recover_everything(world, on_found=lambda run: seen.append(run.folder))
    assert result.ok and seen == found
    assert {f: [r.step_id for r in rec.reverted] for f, rec in result.recovered.items()} == {
        early: ["kill-edge"], newer: ["kill-rbx"], older: ["kill-sbg"]}
    assert set(world.stack.states().values()) == {"running"}
    assert all(not read_run(f).pending for f in found)
    assert (early / "summary.json").exists()  # the reports now exist and show the recovery

    again = recover_everything(world)
    assert again.ok and again.found == [] and again.recovered == {}


def test_a_live_run_holds_the_lock_and_is_left_alone(world: FakeWorld) -> None:
    folder = killed_run(world, kill("one", "sbg", "a"))
    live = StackLock(world.root / "state", world.stack.project)
    live.acquire(owner="runbook one")
    try:
        result = recover_everything(world)
    finally:
        live.release()
    assert not result.ok and "another run holds stack 'fake'" in result.busy["fake"]
    assert str(os.getpid()) in result.busy["fake"]
    assert result.recovered == {} and pending_faults(folder)
    assert recover_everything(world).ok and not pending_faults(folder)


def test_only_the_project_asked_for(world: FakeWorld) -> None:
    killed_run(world, kill("one", "sbg", "a"))
    assert find_pending(world.root / "reports", project="other") == []
    assert len(find_pending(world.root / "reports", project="fake")) == 1


class RemovedStack:
    """`entchaos stack down` since the run died: the project has no container left."""

    project = "fake"

    def targets(self) -> list:
        return []

    def select(self, labels: object) -> list:
        return []


def test_a_removed_stack_took_its_faults_with_it(world: FakeWorld) -> None:
    folder = killed_run(world, kill("one", "sbg", "a"))
    faults, probes = world.registries
    result = recover_all(world.root / "reports", lambda run: RemovedStack(), state_dir=world.root / "state",
                         faults=faults, probes=probes)
    recovery = result.recovered[folder]
    assert result.ok and [r.step_id for r in recovery.gone] == ["kill-sbg"] and recovery.reverted == []
    assert not pending_faults(folder) and find_pending(world.root / "reports") == []
