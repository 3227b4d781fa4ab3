"""The game day's live state and its page operator, without a browser: roles checked, answers taken once, notes
journaled through the bus, the runbook's roles validated at load."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from chaos.errors import InvalidInput
from chaos.events import Bus, GamedayNote, ManualPrompt, RunStarted, StepPlanned
from chaos.gameday.console import GameState, PageOperator
from chaos.launch import validate


def state_with_bus() -> tuple[GameState, list]:
    heard: list = []
    state = GameState(["incident-commander", "communications"])
    bus = Bus(state, heard.append)
    state.attach(bus)
    bus.emit(RunStarted(run_id="r", runbook="rb", runbook_path="rb.yaml", project="p", folder="f"))
    bus.emit(StepPlanned(phase="steps", step_id="declare", step_kind="manual", description="declare"))
    return state, heard


def answer_later(operator: PageOperator, *args: str) -> list:
    said: list = []

    def act() -> None:
        while "declare" not in operator.state.pending:
            threading.Event().wait(0.01)
        said.append(operator.act(*args))

    threading.Thread(target=act, daemon=True).start()
    return said


def test_only_the_steps_role_answers_it_and_only_once() -> None:
    state, _ = state_with_bus()
    operator = PageOperator(state)
    wrong = answer_later(operator, "declare", "communications", "done")
    abort = threading.Event()
    waiter = threading.Thread(target=lambda: result.append(operator.wait_done(
        "declare", "Declare it", timeout_s=5, abort=abort, role="incident-commander")), daemon=True)
    result: list = []
    waiter.start()
    while not wrong:
        threading.Event().wait(0.01)
    assert wrong == ["step declare is for incident-commander, not communications"]
    assert operator.act("declare", "incident-commander", "skip") == "say why the step is skipped"
    assert (operator.act("declare", "janitor", "done") or "").startswith("unknown role 'janitor'")
    assert (operator.act("declare", "incident-commander", "explode") or "").startswith("unknown action")
    assert operator.act("declare", "incident-commander", "skip", "already declared by phone") is None
    waiter.join(5)
    assert result[0].action == "skip" and result[0].text == "already declared by phone" and result[0].by == "page"
    assert operator.act("declare", "incident-commander", "done") == "step declare is not waiting for anyone"
    assert state.snapshot()["pending"] == []


def test_nobody_answering_fails_the_step_when_its_time_is_up() -> None:
    from chaos.engine.result import StepFailed

    state, _ = state_with_bus()
    with pytest.raises(StepFailed, match=r"nobody answered manual step declare within 0\.3 s"):
        PageOperator(state).wait_done("declare", "Declare it", timeout_s=0.3, abort=threading.Event())


def test_a_note_goes_through_the_bus_with_its_role() -> None:
    state, heard = state_with_bus()
    assert state.note("communications", "  families told  ") is None
    assert state.note("communications", "   ") == "an empty note"
    assert (state.note("janitor", "hello") or "").startswith("unknown role")
    notes = [e for e in heard if isinstance(e, GamedayNote)]
    assert [(n.role, n.text) for n in notes] == [("communications", "families told")]
    assert state.snapshot()["people"][0]["text"] == "families told"


def test_the_state_follows_the_run() -> None:
    state, _ = state_with_bus()
    version = state.version
    assert state.wait_change(version, 0.01) == version  # nothing new
    state(ManualPrompt(step_id="declare", instruction="Declare it", role="incident-commander"))
    snap = state.snapshot()
    assert snap["runbook"] == "rb" and snap["steps"][0]["role"] == "incident-commander"
    assert state.wait_change(version, 0.01) > version


def test_a_manual_steps_role_must_be_declared(tmp_path: Path) -> None:
    runbook = tmp_path / "roles.yaml"
    runbook.write_text("metadata: {name: roles}\ngameday: {roles: [incident-commander]}\nsteps:\n"
                       "  - id: tell\n    manual: Tell them.\n    role: communications\n")
    with pytest.raises(InvalidInput) as caught:
        validate(str(runbook))
    assert "roles.yaml:6" in caught.value.message
    assert "expected a role of `gameday.roles` (incident-commander), found `communications`" in caught.value.message
