"""Faults prove they took effect: checked after inject and after revert, journaled, folded into summary.json."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from chaos.engine.recover import recover
from chaos.errors import Aborted
from chaos.faults.base import FAULTS, Effect, poll_effect
from chaos.journal import pending_faults, read_journal
from tests.fakes import FakeWorld

ONE_FAULT = """\
metadata: {{name: one-fault}}
hypothesis:
  probes:
    - {{name: up, probe: fake-value, params: {{key: up}}, expect: {{eq: true}}}}
  check_after: false
steps:
  - id: hit
    fault: {fault}
    target: {{datacenter: sbg, role: app}}
    params: {params}
  - id: look
    probe: fake-value
    params: {{key: up}}
rollback:
  - id: undrain
    playbook: edge-undrain
"""


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def runbook(world: FakeWorld, fault: str, params: str = "{sets: {up: false}}"):  # type: ignore[no-untyped-def]
    return world.parse(ONE_FAULT.format(fault=fault, params=params))


def summary_of(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((result.folder / "summary.json").read_text())


def effects(result) -> list[dict]:  # type: ignore[no-untyped-def]
    return [r for r in read_journal(result.journal) if r["event"] == "fault_effect"]


def test_every_registered_fault_has_its_own_effect_checks() -> None:
    for name in FAULTS.names():
        cls = FAULTS.get(name)
        assert not getattr(cls, "__abstractmethods__", None), f"{name} leaves {cls.__abstractmethods__} abstract"
        for method in ("check_effect", "check_reverted"):
            assert getattr(cls, method).__doc__, f"{name}.{method} does not say what it measures"


def test_a_verified_fault_journals_its_evidence_both_ways_and_passes(world: FakeWorld) -> None:
    result = world.engine(runbook(world, "fake-kill")).run()
    assert result.verdict == "pass", result.reason
    injected, reverted = effects(result)
    assert (injected["phase"], injected["verified"]) == ("injected", True)
    assert injected["evidence"]["states"] == {"sbg-app-1": "killed", "sbg-app-2": "killed"}
    assert (reverted["phase"], reverted["verified"]) == ("reverted", True)
    assert reverted["evidence"]["states"] == {"sbg-app-1": "running", "sbg-app-2": "running"}
    fault = summary_of(result)["faults"][0]
    assert fault["effect"]["verified"] is True and fault["reverted_effect"]["verified"] is True
    assert fault["effect"]["evidence"]["check_s"] >= 0


def test_the_check_runs_after_the_injection_is_journaled_and_is_timed_apart(world: FakeWorld) -> None:
    result = world.engine(runbook(world, "fake-kill", "{sets: {up: false}, slow_s: 0.3}")).run()
    kinds = [r["event"] for r in read_journal(result.journal) if r["event"].startswith("fault_")]
    assert kinds == ["fault_injecting", "fault_injected", "fault_effect", "fault_effect", "fault_reverted"]
    injected = next(r for r in read_journal(result.journal) if r["event"] == "fault_injected")
    assert injected["duration_s"] >= 0.3  # the inject's own time, not the check's


def test_an_effect_never_observed_ends_the_run_as_error_with_the_evidence_and_is_reverted(world: FakeWorld) -> None:
    result = world.engine(runbook(world, "fake-silent")).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "did not take effect" in result.reason and '"sbg-app-1": "running"' in result.reason
    summary = summary_of(result)
    assert summary["verdict"] == "error" and "did not take effect" in summary["reason"]
    fault = summary["faults"][0]
    assert fault["effect"]["verified"] is False
    assert fault["effect"]["evidence"]["states"] == {"sbg-app-1": "running", "sbg-app-2": "running"}
    assert fault["reverted_by"] == "rollback" and fault["reverted_effect"]["verified"] is True
    assert world.stack.values["up"] is True  # its revert restored what it set
    assert "look" not in {s["step_id"] for s in summary["steps"]}  # nothing measured under an unproven fault
    assert pending_faults(result.journal) == []


def test_a_revert_whose_effect_remains_is_a_rollback_error_and_stays_pending(world: FakeWorld) -> None:
    result = world.engine(runbook(world, "fake-kill", "{sets: {up: false}, sticky: true}")).run()
    assert (result.verdict, result.exit_code) == ("error", 4)
    assert "rollback: revert hit" in result.reason and "effect is still there" in result.reason
    assert '"sbg-app-1": "killed"' in result.reason
    fault = summary_of(result)["faults"][0]
    assert fault["effect"]["verified"] is True and fault["reverted_effect"]["verified"] is False
    assert fault["reverted_at"] is None and "effect is still there" in fault["revert_error"]
    assert [f.step_id for f in pending_faults(result.journal)] == ["hit"]  # `recover` will try again


FIRE = """\
metadata: {{name: fire}}
steps:
  - id: fire
    fault: fake-fire
    target: {{datacenter: sbg}}
    reverted_by: rebuild
  - id: rebuild
    playbook: {rebuild}
"""


def test_a_destructive_fault_is_checked_after_its_rebuild_step(world: FakeWorld) -> None:
    result = world.engine(world.parse(FIRE.format(rebuild="rebuild"))).run()
    assert result.verdict == "pass", result.reason
    records = read_journal(result.journal)
    reverted = next(r for r in records if r["event"] == "fault_effect" and r["phase"] == "reverted")
    rebuilt = next(r for r in records if r["event"] == "step_finished" and r["step_id"] == "rebuild")
    assert reverted["verified"] and reverted["at"] >= rebuilt["at"]
    assert set(reverted["evidence"]["states"].values()) == {"running"}


def test_a_rebuild_that_does_not_bring_the_datacenter_back_is_an_error(world: FakeWorld) -> None:
    result = world.engine(world.parse(FIRE.format(rebuild="edge-undrain"))).run()
    assert result.verdict == "error"
    assert "effect is still there" in result.reason and '"killed"' in result.reason
    assert [f.step_id for f in pending_faults(result.journal)] == ["fire"]


def test_recover_checks_the_revert_and_says_so(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    result = world.engine(runbook(world, "fake-kill", "{sets: {up: false}, sticky: true}")).run()
    assert [f.step_id for f in pending_faults(result.journal)] == ["hit"]
    faults, probes = world.registries
    # Still killed: recover's revert is checked too and fails with the evidence; the fault stays pending.
    failed = recover(result.folder, world.stack, state_dir=tmp_path / "state", faults=faults, probes=probes)
    assert not failed.ok and "effect is still there" in failed.failed[0][1]
    assert failed.effects["hit"].verified is False
    # Someone restarted the containers: the next recover sees the effect gone and closes the fault.
    for target in world.stack.containers:
        target.status = "running"
    recovery = recover(result.folder, world.stack, state_dir=tmp_path / "state", faults=faults, probes=probes)
    assert recovery.ok and recovery.effects["hit"].verified
    assert pending_faults(result.journal) == []
    last = [r for r in read_journal(result.journal) if r["event"] == "fault_effect"][-1]
    assert (last["phase"], last["verified"]) == ("reverted", True)


def test_poll_effect_waits_for_a_slow_effect_within_its_deadline() -> None:
    looks = iter([False, False, True])
    effect = poll_effect(lambda: Effect(next(looks), {"seen": 1}), deadline_s=5, interval_s=0.01)
    assert effect.verified and effect.evidence["attempts"] == 3 and effect.evidence["seen"] == 1


def test_poll_effect_gives_the_last_look_when_the_deadline_passes() -> None:
    effect = poll_effect(lambda: Effect(False, {"state": "running"}), deadline_s=0.2, interval_s=0.05)
    assert not effect.verified and effect.evidence["state"] == "running"
    assert 0.2 <= effect.evidence["waited_s"] < 1.0 and effect.evidence["attempts"] >= 3


def test_poll_effect_stops_at_once_when_the_run_is_aborted() -> None:
    abort = threading.Event()
    abort.set()
    with pytest.raises(Aborted):
        poll_effect(lambda: Effect(False), deadline_s=30, interval_s=0.05, abort=abort)
