"""`extends`: a runbook built on another, merged as data; every problem names file:line and both runbooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.errors import RunbookInvalid
from chaos.model import runbook as m
from chaos.model.extends import MAX_EXTENDS
from chaos.model.loader import load_runbook
from chaos.remediation.runner import available
from tests.fakes import FakeWorld

ROOT = Path(__file__).resolve().parents[2]

PARENT = """\
metadata:
  name: fire
  description: the sbg datacenter burns
steps:
  - id: fire
    fault: fake-fire
    target: {datacenter: sbg}
    reverted_by: rebuild
  - id: detect
    wait-for: fake-value
    params: {key: up}
    until: {eq: false}
    timeout_s: 2
    since: fire
  - id: recovered
    wait-for: fake-value
    params: {key: up}
    until: {eq: true}
    timeout_s: 2
  - id: rebuild
    playbook: rebuild
rollback:
  - id: undrain
    playbook: edge-undrain
"""


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    return FakeWorld(tmp_path)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def child(world: FakeWorld, text: str, parent: str = PARENT) -> m.Runbook:
    write(world.root, "fire.yaml", parent)
    return world.load_file(write(world.root, "child.yaml", text))


def problems(world: FakeWorld, text: str, parent: str = PARENT) -> list[str]:
    with pytest.raises(RunbookInvalid) as info:
        child(world, text, parent)
    assert info.value.exit_code == 2
    root = f"{world.root}/"
    return [str(p).replace(root, "") for p in info.value.problems]


def ids(runbook: m.Runbook) -> list[str]:
    return [s.step_id for s in runbook.steps]


def test_a_child_is_its_parent_plus_its_own_steps(world: FakeWorld) -> None:
    runbook = child(world, "extends: fire.yaml\nmetadata: {name: gameday}\nsteps:\n"
                    "  - {id: declare, after: detect, manual: declare the incident}\n"
                    "  - {id: announce, before: rebuild, manual: tell the families}\n"
                    "  - {id: review, manual: write the review}\n")
    assert runbook.name == "gameday" and runbook.metadata.description == "the sbg datacenter burns"
    assert ids(runbook) == ["fire", "detect", "declare", "recovered", "announce", "rebuild", "review"]
    assert [s.step_id for s in runbook.rollback] == ["undrain"]
    assert runbook.source.endswith("child.yaml")
    fire = runbook.steps[0]
    assert isinstance(fire, m.FaultStep) and fire.reverted_by == "rebuild"


def test_a_step_with_a_parent_id_replaces_it_in_place(world: FakeWorld) -> None:
    runbook = child(world, "extends: fire.yaml\nmetadata: {name: slow}\nsteps:\n"
                    "  - {id: detect, wait-for: fake-value, params: {key: up}, until: {eq: false}, timeout_s: 9}\n")
    assert ids(runbook) == ["fire", "detect", "recovered", "rebuild"]
    detect = runbook.steps[1]
    assert isinstance(detect, m.WaitForStep) and detect.timeout_s == 9 and detect.since is None


def test_a_replaced_step_can_be_moved_and_steps_removed(world: FakeWorld) -> None:
    runbook = child(world, "extends: fire.yaml\nmetadata: {name: moved}\nremove_steps: [recovered, undrain]\n"
                    "steps:\n  - {id: detect, before: fire, probe: fake-value, params: {key: up}}\n")
    assert ids(runbook) == ["detect", "fire", "rebuild"] and runbook.rollback == []


def test_several_steps_after_the_same_one_keep_their_order(world: FakeWorld) -> None:
    runbook = child(world, "extends: fire.yaml\nmetadata: {name: t}\nsteps:\n"
                    "  - {id: a, after: fire, manual: one}\n  - {id: b, after: fire, manual: two}\n"
                    "  - {id: c, before: rebuild, manual: three}\n  - {id: d, before: rebuild, manual: four}\n")
    assert ids(runbook) == ["fire", "a", "b", "detect", "recovered", "c", "d", "rebuild"]


def test_top_level_keys_of_the_child_replace_the_parents(world: FakeWorld) -> None:
    parent = PARENT + "verify:\n  - {name: up, probe: fake-value, params: {key: up}, expect: {eq: true}}\n"
    runbook = child(world, "extends: fire.yaml\nmetadata: {name: t, description: mine}\n"
                    "verify:\n  - {name: down, probe: fake-value, params: {key: up}, expect: {eq: false}}\n", parent)
    assert [c.name for c in runbook.verify] == ["down"] and runbook.metadata.description == "mine"
    assert ids(runbook) == ["fire", "detect", "recovered", "rebuild"]


def test_a_chain_of_parents_in_subfolders(world: FakeWorld) -> None:
    write(world.root, "base/fire.yaml", PARENT)
    write(world.root, "base/more.yaml", "extends: fire.yaml\nmetadata: {name: more}\n"
          "steps:\n  - {id: extra, after: fire, manual: look}\n")
    runbook = world.load_file(write(world.root, "top.yaml", "extends: base/more.yaml\nmetadata: {name: top}\n"
                                    "steps:\n  - {id: last, after: extra, manual: done}\n"))
    assert ids(runbook) == ["fire", "extra", "last", "detect", "recovered", "rebuild"]


def test_an_unknown_parent(world: FakeWorld) -> None:
    (p,) = problems(world, "metadata: {name: t}\nextends: nowhere.yaml\n")
    assert p.startswith("child.yaml:2: extends: expected a runbook to extend, found: cannot read the runbook")
    assert "nowhere.yaml" in p


def test_a_cycle_is_refused_naming_both_runbooks(world: FakeWorld) -> None:
    write(world.root, "a.yaml", "extends: b.yaml\nmetadata: {name: a}\n")
    write(world.root, "b.yaml", "metadata: {name: b}\nextends: a.yaml\n")
    with pytest.raises(RunbookInvalid) as info:
        world.load_file(world.root / "a.yaml")
    assert info.value.where == f"{world.root}/b.yaml:2"
    assert "a cycle (a.yaml → b.yaml → a.yaml)" in info.value.message
    assert f"extended by {world.root}/a.yaml:1" in info.value.message
    (p,) = problems(world, "extends: child.yaml\nmetadata: {name: t}\n")
    assert p.startswith("child.yaml:1: extends:") and "cycle (child.yaml → child.yaml)" in p


def test_a_chain_is_depth_limited(world: FakeWorld) -> None:
    for i in range(MAX_EXTENDS + 1):
        write(world.root, f"r{i}.yaml", f"extends: r{i + 1}.yaml\nmetadata: {{name: r{i}}}\n")
    write(world.root, f"r{MAX_EXTENDS + 1}.yaml", PARENT)
    with pytest.raises(RunbookInvalid, match=f"at most {MAX_EXTENDS} runbooks extended one by the other"):
        world.load_file(world.root / "r0.yaml")
    assert world.load_file(world.root / "r1.yaml").name == "r1"  # four parents: fine


def test_the_parent_stays_inside_the_runbook_folder_or_the_shipped_runbooks(world: FakeWorld, tmp_path: Path) -> None:
    (world.root / "sub").mkdir()
    write(world.root, "outside.yaml", PARENT)
    for path in ("../outside.yaml", str(world.root / "outside.yaml")):
        with pytest.raises(RunbookInvalid) as info:
            world.load_file(write(world.root, "sub/child.yaml", f"extends: {path}\nmetadata: {{name: t}}\n"))
        assert info.value.where == f"{world.root}/sub/child.yaml:1" and "(outside both)" in info.value.message
    (world.root / "sub" / "link.yaml").symlink_to(world.root / "outside.yaml")
    with pytest.raises(RunbookInvalid, match="outside both"):
        world.load_file(write(world.root, "sub/child.yaml", "extends: link.yaml\nmetadata: {name: t}\n"))
    shipped = ROOT / "runbooks" / "datacenter-fire.yaml"
    runbook = load_runbook(write(world.root, "sub/mine.yaml", f"extends: {shipped}\nmetadata: {{name: mine}}\n"),
                           playbooks=available())
    assert runbook.name == "mine" and ids(runbook)[0] == "fire"


def test_an_error_inside_the_parent_names_its_line_and_the_child(world: FakeWorld) -> None:
    broken = PARENT.replace("timeout_s: 2\n    since: fire", "timeout_s: soon\n    since: fire")
    (p,) = problems(world, "extends: fire.yaml\nmetadata: {name: t}\n", broken)
    assert p.startswith("fire.yaml:13: steps[1].timeout_s: expected a valid number")
    assert p.endswith("(extended by child.yaml:1)")
    (p,) = problems(world, "metadata: {name: t}\nextends: fire.yaml\n", PARENT + "steps: twice\n")
    assert p.startswith("fire.yaml:") and "found `steps` twice" in p and p.endswith("(extended by child.yaml:2)")


def test_the_merged_runbook_is_validated_whole(world: FakeWorld) -> None:
    """Removing the rebuild the fire names is caught, at the parent's line that names it."""
    found = problems(world, "extends: fire.yaml\nmetadata: {name: t}\nremove_steps: [rebuild]\n")
    assert found == ["fire.yaml:8: steps[0].reverted_by: expected a step id, found `rebuild` (no such step) "
                     "(extended by child.yaml:1)"]
    found = problems(world, "extends: fire.yaml\nmetadata: {name: t}\nsteps:\n"
                     "  - {id: late, after: rebuild, revert: nothing}\n")
    assert found[0].startswith("child.yaml:4: steps[4].revert:") and "(extended by" not in found[0]


def test_placement_and_removal_name_the_parent(world: FakeWorld) -> None:
    found = problems(world, "extends: fire.yaml\nmetadata: {name: t}\nremove_steps: [nope]\nsteps:\n"
                     "  - {id: x, after: detcet, manual: m}\n  - {id: y, after: fire, before: detect, manual: m}\n")
    assert found[0].startswith("child.yaml:3: remove_steps: expected the id of a step of fire.yaml")
    assert "found `nope`" in found[0]
    assert found[1].startswith("child.yaml:5: steps[0].after: expected the id of a step of fire.yaml")
    assert "found `detcet`" in found[1]
    assert found[2].startswith("child.yaml:6: steps[1]: expected one of `after` or `before`, found both")


def test_the_child_names_itself(world: FakeWorld) -> None:
    (p,) = problems(world, "extends: fire.yaml\nsteps:\n  - {id: x, manual: m}\n")
    assert p.startswith("child.yaml:1: metadata.name: expected a `metadata.name` of this runbook's own")
    (p,) = problems(world, "extends: fire.yaml\nmetadata:\n  name: fire\n")
    assert p.startswith("child.yaml:3: metadata.name: expected a name other than fire.yaml's")


def test_placing_words_mean_nothing_without_extends(world: FakeWorld) -> None:
    with pytest.raises(RunbookInvalid) as info:
        world.parse("metadata: {name: t}\nremove_steps: [a]\nsteps:\n  - {id: a, after: b, manual: m}\n", "rb.yaml")
    found = [str(p) for p in info.value.problems]
    assert found[0].startswith("rb.yaml:2: remove_steps: expected `remove_steps` only in a runbook that `extends`")
    assert found[1].startswith("rb.yaml:4: steps[0].after: expected `after` only in a runbook that `extends`")


def test_a_relative_profile_file_is_the_parents(world: FakeWorld) -> None:
    write(world.root, "base/surge.yaml", "points: [[0, 1], [5, 2]]\n")
    write(world.root, "base/fire.yaml", PARENT + "load: {profile: 'file:surge.yaml', duration_s: 10}\n"
          "stack: {compose_file: compose.yaml}\n")
    runbook = world.load_file(write(world.root, "top.yaml", "extends: base/fire.yaml\nmetadata: {name: top}\n"))
    assert runbook.load is not None and runbook.load.profile == f"file:{world.root}/base/surge.yaml"
    assert runbook.stack.compose_file == f"{world.root}/base/compose.yaml"


def shipped_child_and_parent(child: str, parent: str) -> tuple[Any, Any]:
    """A shipped runbook and the one it extends, loaded; the child extends it and writes none of its steps again."""
    loaded = [load_runbook(ROOT / "runbooks" / name, playbooks=available()) for name in (child, parent)]
    text = (ROOT / "runbooks" / child).read_text()
    assert f"extends: {parent}" in text
    assert not any(f"id: {s.step_id}" in text for s in loaded[1].steps), f"a step of {parent} written again"
    return loaded[0], loaded[1]


def test_the_gameday_runbook_repeats_no_step_of_the_fire() -> None:
    gameday, fire = shipped_child_and_parent("gameday-datacenter-fire.yaml", "datacenter-fire.yaml")
    assert ids(gameday) == ["fire", "detect", "declare", "failover", "writes-accepted", "recovered", "stable",
                            "announce", "rebuild"]
    assert gameday.name == "gameday-datacenter-fire" and gameday.verify == fire.verify
    assert [s for s in gameday.steps if s.step_id not in ("declare", "announce")] == fire.steps
    assert gameday.load == fire.load and gameday.hypothesis == fire.hypothesis


def test_the_morning_of_6_april_repeats_no_step_of_the_fires_game_day() -> None:
    morning, gameday = shipped_child_and_parent("6-april-2021.yaml", "gameday-datacenter-fire.yaml")
    fire_at = ids(morning).index("fire")
    assert ids(morning)[:fire_at][:3] == ["eight-oclock", "flood", "flood-detected"]  # the morning, then the fire
    assert [s for s in morning.steps if s.step_id in ids(gameday)] == gameday.steps
    assert morning.gameday == gameday.gameday and morning.surprises  # the people and the facilitator's hand
    assert {"declare", "announce"} <= {s.step_id for s in morning.steps if getattr(s, "unattended", None) == "skip"}
