"""The loader: a valid runbook becomes typed; every mistake names file:line, the field, expected and found."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import RunbookInvalid
from chaos.model import runbook as m
from tests.fakes import FakeWorld
from tests.unit.test_quick import RUNBOOK, load

DATA = Path(__file__).parent / "data"

BASE = """\
metadata:
  name: t
steps:
  - id: kill
    fault: fake-kill
    target: {datacenter: sbg, role: app}
"""


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def problems(world: FakeWorld, text: str) -> list[str]:
    with pytest.raises(RunbookInvalid) as info:
        world.parse(text, "rb.yaml")
    assert info.value.exit_code == 2
    return [str(p) for p in info.value.problems]


def test_example_runbook_is_typed(world: FakeWorld) -> None:
    runbook = world.load_file(DATA / "datacenter-fire.yaml")
    assert runbook.name == "fake-datacenter-fire"
    assert [s.kind for s in runbook.steps] == ["fault", "wait-for", "playbook", "wait-for", "manual", "playbook"]
    fire = runbook.steps[0]
    assert isinstance(fire, m.FaultStep) and fire.target == {"datacenter": "sbg"} and fire.reverted_by == "rebuild"
    assert isinstance(runbook.verify[0], m.MetricCheck) and runbook.verify[0].metric == "rto_s"
    assert runbook.load is not None and runbook.load.source == "internet-fr"
    assert runbook.source.endswith("datacenter-fire.yaml")


def test_steps_without_id_are_named(world: FakeWorld) -> None:
    runbook = world.parse(BASE + "  - manual: call the rectorate\nrollback:\n  - playbook: edge-undrain\n")
    assert [s.step_id for s in runbook.steps] == ["kill", "manual-2"]
    assert runbook.rollback[0].step_id == "rollback-playbook-1"


def test_misspelt_field_names_line_and_suggests(world: FakeWorld) -> None:
    text = BASE + "    duraton_s: 5\n"
    (p,) = problems(world, text)
    assert p.startswith("rb.yaml:7: steps[0].duraton_s:")
    assert "unknown field" in p and "duration_s" in p


def test_wrong_type_says_expected_and_found(world: FakeWorld) -> None:
    text = BASE + "  - wait-for: constant\n    params: {value: 1}\n    until: {eq: 1}\n    timeout_s: soon\n"
    (p,) = problems(world, text)
    assert p.startswith("rb.yaml:10: steps[1].timeout_s: expected a valid number")
    assert "found a string 'soon'" in p


def test_missing_field_points_at_its_mapping(world: FakeWorld) -> None:
    text = "metadata:\n  name: t\nsteps:\n  - id: k\n    fault: fake-kill\n"
    (p,) = problems(world, text)
    assert p.startswith("rb.yaml:4: steps[0].target:") and "expected the field `target`" in p


def test_step_without_a_kind(world: FakeWorld) -> None:
    (p,) = problems(world, BASE + "  - id: odd\n    sleep: 3\n")
    assert p.startswith("rb.yaml:7: steps[1]:") and "fault, wait-for, probe, playbook, manual" in p


def test_unknown_fault_and_probe_before_anything_runs(world: FakeWorld) -> None:
    text = BASE.replace("fake-kill", "fake-kil") + (
        "  - probe: fake-valeu\n    params: {key: up}\n"
        "stop_conditions:\n  - name: s\n    probe: nope\n    bound: {gte: 1}\n"
    )
    found = problems(world, text)
    assert found[0].startswith("rb.yaml:5: steps[0].fault:") and "did you mean 'fake-kill'" in found[0]
    assert found[1].startswith("rb.yaml:7: steps[1].probe:") and "did you mean 'fake-value'" in found[1]
    assert found[2].startswith("rb.yaml:11: stop_conditions[0].probe:") and "unknown probe 'nope'" in found[2]


def test_fault_params_checked_against_the_fault(world: FakeWorld) -> None:
    (p,) = problems(world, BASE + "    params: {fail_inject: maybe}\n")
    assert p.startswith("rb.yaml:7: steps[0].params.fail_inject: expected a valid boolean")


def test_destructive_fault_needs_a_rebuild_step(world: FakeWorld) -> None:
    (p,) = problems(world, BASE.replace("fake-kill", "fake-fire"))
    assert p.startswith("rb.yaml:5: steps[0].fault:") and "reverted_by" in p and "destructive" in p


def test_references_to_steps_must_exist(world: FakeWorld) -> None:
    text = BASE + "    reverted_by: rebiuld\n  - id: kill\n    manual: again\nverify:\n  - availability: {gte: 1}\n" \
        "    window: during:nowhere\nload: {profile: 'constant:1'}\n"
    found = problems(world, text)
    assert any(p.startswith("rb.yaml:8: steps[1].id:") and "unique" in p for p in found)
    assert any(p.startswith("rb.yaml:7: steps[0].reverted_by:") and "rebiuld" in p for p in found)
    assert any(p.startswith("rb.yaml:12: verify[0].window:") and "nowhere" in p for p in found)


def test_yaml_syntax_error_has_a_line(world: FakeWorld) -> None:
    (p,) = problems(world, BASE + "  - id: x\n    manual: [unclosed\n")
    assert p.startswith("rb.yaml:9:") and "not valid YAML" in p


def test_single_problem_message_names_file_line(world: FakeWorld) -> None:
    with pytest.raises(RunbookInvalid) as info:
        world.parse(BASE + "    count: 0\n", "rb.yaml")
    assert info.value.message.startswith("rb.yaml:7: steps[0].count: expected greater than 0, found a number 0")


def test_playbook_names_checked_when_known(tmp_path: Path) -> None:
    from chaos.model.loader import parse_runbook

    with pytest.raises(RunbookInvalid, match=r"rb.yaml:4: steps\[0\].playbook: .*did you mean `failover-database`"):
        parse_runbook("metadata: {name: t}\nsteps:\n  - id: p\n    playbook: failover-databse\n", "rb.yaml",
                      playbooks={"failover-database", "rebuild-datacenter"})


def test_tolerance() -> None:
    tol = m.Tolerance.model_validate({"gte": 0.9, "lt": 1.5})
    assert tol.holds(1.0) and not tol.holds(0.5) and not tol.holds(None) and not tol.holds(float("nan"))
    assert tol.describe() == ">= 0.9 and < 1.5"
    assert m.Tolerance.model_validate({"in": ["sync", "quorum"]}).holds("sync")
    with pytest.raises(ValueError, match="at least one"):
        m.Tolerance.model_validate({})


def test_revert_step_must_name_an_earlier_held_fault(world: FakeWorld) -> None:
    text = BASE + "    duration_s: 5\n  - id: undo\n    revert: kill\n  - id: nothing\n    revert: undo\n"
    found = problems(world, text)
    assert any(p.startswith("rb.yaml:9: steps[1].revert:") and "duration_s: 5" in p for p in found)
    assert any(p.startswith("rb.yaml:11: steps[2].revert:") and "revert step" in p for p in found)
    fire = BASE.replace("fake-kill", "fake-fire") + "    reverted_by: undo\n  - id: undo\n    revert: kill\n"
    assert any("reverted_by: undo" in p for p in problems(world, fire))
    early = BASE.replace("steps:\n", "steps:\n  - id: undo\n    revert: kill\n")
    assert any("after this one" in p for p in problems(world, early))
    world.parse(BASE + "  - id: undo\n    revert: kill\n", "rb.yaml")  # held, then reverted: valid


def test_a_deferred_load_names_a_step_and_a_metric_recorded_by_then(world: FakeWorld) -> None:
    load = "load: {profile: 'constant:1', start_after: kill, scale_by: capacity_rps}\n"
    (p,) = problems(world, BASE + load)
    assert p.startswith("rb.yaml:") and "load.scale_by" in p and "capacity_rps" in p and "recorded by then: none" in p
    (p,) = problems(world, BASE + "load: {profile: 'constant:1', start_after: nowhere}\n")
    assert "load.start_after" in p and "nowhere" in p
    (p,) = problems(world, BASE + "load: {profile: 'constant:1', scale_by: capacity_rps}\n")
    assert "start_after" in p
    (p,) = problems(world, BASE + "load: {profile: 'file:no/such.yaml'}\n")
    assert "load.profile" in p and "no file" in p


def test_a_metric_a_step_records_has_the_short_form_the_engines_own_have() -> None:
    # Issue 13: `record: ttr_s` then `ttr_s: {lte: 5}`, as `rto_s: {lte: 30}`.
    text = RUNBOOK.replace("timeout_s: 60}", "timeout_s: 60, record: ttr_s}").replace(
        "  - {metric: x, expect: {lte: 5}}", "  - ttr_s: {lte: 5}\n  - {name: named, ttr_s: {gte: 0}}")
    runbook = load(text, quick=False)
    assert [(c.metric, c.expect.lte, c.expect.gte, c.name) for c in runbook.verify] == [  # type: ignore[union-attr]
        ("ttr_s", 5.0, None, None), ("ttr_s", None, 0.0, "named")]
    unknown = text.replace("  - ttr_s: {lte: 5}", "  - ttx_s: {lte: 5}")
    with pytest.raises(RunbookInvalid, match=r"quick-demo.yaml:11: .*the name of a metric a step records"):
        load(unknown, quick=False)
