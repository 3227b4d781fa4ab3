"""The facilitator's hand: surprises validated at load, injected only while the steps run, journaled and reverted
(after their time, by the facilitator, at the end of the steps, on abort), the load paused; the human figures and
the SLO budget the review tells."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from chaos import events as ev
from chaos.engine.surprises import FacilitatorHand
from chaos.errors import InvalidInput
from chaos.faults.base import FaultRecord
from chaos.gameday.console import GameState
from chaos.journal import pending_faults, read_journal
from chaos.report.incident_figures import incident_figures, slo_budget
from chaos.report.markdown import review_md
from chaos.report.summary import summarize
from tests.fakes import FakeOperator, FakeWorld

GAMEDAY = """\
metadata: {name: surprises}
load: {profile: "constant:10", duration_s: 60}
hypothesis:
  probes:
    - {name: up, probe: fake-value, params: {key: up}, expect: {eq: true}}
  baseline_s: 0
  check_after: false
gameday:
  roles: [incident-commander]
  surprises:
    - id: slow-app
      description: one rbx replica dies for a while
      fault: fake-kill
      target: {datacenter: rbx, role: app}
      count: 1
      params: {sets: {surprised: true}}
      duration_s: DURATION
steps:
  - {id: declare, manual: Declare the incident, role: incident-commander, milestone: declare, timeout_s: 30}
  - {id: after, probe: fake-value, params: {key: up}}
"""


class Facilitator:
    """A listener that plays the facilitator: once the manual step waits, it does `act(hand)` in a thread."""

    def __init__(self, act: Any) -> None:
        self.act, self.hand, self.said = act, None, []

    def attach_hand(self, hand: FacilitatorHand) -> None:
        self.hand = hand

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.ManualPrompt):
            threading.Thread(target=lambda: self.said.extend(self.act(self.hand)), daemon=True).start()


def run(world: FakeWorld, act: Any, *, duration: float = 0.3, people_s: float = 1.0, text: str = GAMEDAY
        ) -> tuple[Any, list[dict]]:
    facilitator = Facilitator(act)
    runbook = world.parse(text.replace("DURATION", str(duration)))
    result = world.engine(runbook, operator=FakeOperator(seconds=people_s), listeners=[facilitator]).run()
    return result, facilitator.said, read_journal(result.journal)


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    world = FakeWorld(tmp_path)
    world.stack.set(up=True, surprised=False)
    return world


def reverts(journal: list[dict]) -> list[tuple[str, str]]:
    return [(r["step_id"], r["by"]) for r in journal if r["event"] == "fault_reverted" and r.get("ok", True)]


def test_a_surprise_is_injected_on_request_then_reverted_after_its_time(world: FakeWorld) -> None:
    result, said, journal = run(world, lambda hand: [hand.inject("slow-app", "facilitator"),
                                                     hand.inject("slow-app", "facilitator")])
    assert result.verdict == "pass", result.reason
    assert said == [None, "surprise slow-app has happened already (each happens once a game day)"]
    injected = [r for r in journal if r["event"] == "fault_injected"]
    assert [(r["record"]["step_id"], [t["service"] for t in r["record"]["targets"]]) for r in injected] == [
        ("slow-app", ["rbx-app-1"])]  # its selector and count, under the same labels as any step
    assert reverts(journal) == [("slow-app", "duration")]
    effects = [(r["phase"], r["verified"]) for r in journal if r["event"] == "fault_effect"]
    assert effects == [("injected", True), ("reverted", True)]
    asked = [(r["action"], r["surprise"], r["error"]) for r in journal if r["event"] == "facilitator_action"]
    assert asked[0] == ("inject", "slow-app", None) and asked[1][2].startswith("surprise slow-app has happened")
    assert pending_faults(journal) == [] and world.stack.values["surprised"] is False


def test_the_facilitator_ends_a_surprise_early_and_the_steps_end_what_is_left(world: FakeWorld) -> None:
    def inject_then_end(hand: FacilitatorHand) -> list:
        said = [hand.inject("slow-app", "facilitator")]
        threading.Event().wait(0.2)
        return [*said, hand.end("slow-app", "facilitator"), hand.end("slow-app", "facilitator")]

    result, said, journal = run(world, inject_then_end, duration=60)
    assert said[:2] == [None, None] and said[2] == "surprise slow-app is not in force"
    assert reverts(journal) == [("slow-app", "facilitator")]

    result, said, journal = run(world, lambda hand: [hand.inject("slow-app", "facilitator")], duration=60)
    assert reverts(journal) == [("slow-app", "end of steps")]  # the steps ended first: verify sees it gone
    order = [r["event"] if r["event"] != "phase_started" else r["phase"] for r in journal]
    assert order.index("fault_reverted") < order.index("verify")
    assert result.verdict == "pass" and pending_faults(journal) == []


def test_an_abort_reverts_a_surprise_in_force(world: FakeWorld) -> None:
    def inject_then_abort(hand: FacilitatorHand) -> list:
        said = [hand.inject("slow-app", "facilitator")]
        threading.Event().wait(0.2)
        hand.runner.abort.set()  # what a stop condition or SIGTERM does
        return said

    result, said, journal = run(world, inject_then_abort, duration=60, people_s=5)
    assert said == [None] and result.verdict == "aborted"
    assert reverts(journal) == [("slow-app", "rollback")]
    assert pending_faults(journal) == [] and world.stack.values["surprised"] is False


def test_a_surprise_that_does_not_take_effect_fails_the_check_and_is_reverted_at_once(world: FakeWorld) -> None:
    text = GAMEDAY.replace("fault: fake-kill", "fault: fake-silent")  # runs, changes nothing
    result, said, journal = run(world, lambda hand: [hand.inject("slow-app", "facilitator")], duration=60, text=text)
    assert said == [None] and result.verdict == "fail"
    check = next(c for c in result.checks if c.name == "surprise slow-app")
    assert not check.passed and "did not take effect" in str(check.observed)
    assert reverts(journal) == [("slow-app", "not verified")] and pending_faults(journal) == []


def test_surprises_only_while_the_steps_run(world: FakeWorld) -> None:
    facilitator = Facilitator(lambda hand: [])
    runbook = world.parse(GAMEDAY.replace("DURATION", "1"))
    world.engine(runbook, operator=FakeOperator(), listeners=[facilitator]).run()
    hand = facilitator.hand
    assert hand is not None and hand.catalogue()[0]["state"] == "ready"
    assert hand.inject("slow-app", "facilitator") == "the game day is over"
    hand.over, hand.runner.bus = False, ev.Bus()  # as before the steps (the window shut), the journal aside
    assert hand.inject("slow-app", "facilitator").startswith("surprises are injected while the steps run")
    assert hand.inject("nope", "facilitator").startswith("no surprise 'nope' in the runbook")


def test_the_load_is_paused_and_resumed_and_resumed_at_the_end(world: FakeWorld) -> None:
    _, said, journal = run(world, lambda hand: [hand.pause_load(True, "facilitator"),
                                                hand.pause_load(True, "facilitator")])
    assert said == [None, "the load is paused already"]
    assert world.load.pauses == [True, False]  # the end of the steps sends again
    assert [r["action"] for r in journal if r["event"] == "facilitator_action"] == ["pause", "pause", "resume"]


def test_only_the_facilitator_has_the_hand() -> None:
    state = GameState(["incident-commander"])
    assert state.facilitate("incident-commander", "inject", "x") == (
        "only the facilitator (facilitator) injects surprises and pauses the load")
    assert state.facilitate("facilitator", "inject", "x") == "the run is not planned yet"
    assert state.check_role("facilitator") is None


@pytest.mark.parametrize(("change", "message"), [
    ("", r"runbook.yaml:\d+: gameday.surprises\[0\].duration_s: expected the field `duration_s`, found it missing"),
    ("      duration_s: 1\n      reverted_by: after\n", r"a surprise comes back by itself"),
    ("      duration_s: 1\n    - {id: declare, fault: fake-kill, target: {role: app}, duration_s: 1}\n",
     r"runbook.yaml:\d+.*expected an id of its own.*`declare` twice"),
])
def test_a_surprise_is_checked_when_the_runbook_is_loaded(world: FakeWorld, change: str, message: str) -> None:
    text = GAMEDAY.replace("      duration_s: DURATION\n", change)
    with pytest.raises(InvalidInput, match=message):
        world.parse(text)
    with pytest.raises(InvalidInput, match=r"runbook.yaml:\d+.*expected a known fault"):
        world.parse(GAMEDAY.replace("DURATION", "1").replace("fault: fake-kill", "fault: meteor"))


def _events(pairs: list[tuple[float, ev.Event]]) -> list[ev.Event]:
    return [type(e)(**{**e.__dict__, "at": at}) for at, e in pairs]


def injected(step_id: str) -> ev.FaultInjected:
    return ev.FaultInjected(record=FaultRecord("fake-kill", step_id, ()), duration_s=0.1)


def test_human_figures_by_people_and_by_automation() -> None:
    finished = {"phase": "steps", "started_at": 0.0, "duration_s": 1.0, "ok": True}
    events = _events([
        (50.0, injected("flood")),  # an earlier incident of the morning: not the one these steps answer
        (60.0, ev.StepFinished(step_id="flood-over", step_kind="wait-for", **finished)),
        (100.0, injected("fire")),
        (102.0, ev.StepStarted(phase="surprise", step_id="frozen", step_kind="fault", description="")),
        (102.0, injected("frozen")),  # the facilitator's surprise: not the incident either
        (104.0, ev.StepFinished(step_id="detect", step_kind="wait-for", milestone="detect", **finished)),
        (110.0, ev.ManualAction(step_id="look", action="done", by="page")),  # first acknowledgement by people
        (111.0, ev.StepFinished(step_id="look", step_kind="manual", **finished)),
        (130.0, ev.ManualAction(step_id="declare", action="done", by="page", role="incident-commander")),
        (130.0, ev.StepFinished(step_id="declare", step_kind="manual", milestone="declare", **finished)),
        (140.0, ev.StepFinished(step_id="failover", step_kind="playbook", milestone="mitigate", **finished)),
        (150.0, ev.ManualAction(step_id="fix", action="skip", by="page", text="not needed")),
        (150.0, ev.StepFinished(step_id="fix", step_kind="manual", milestone="mitigate", **finished)),
        (160.0, ev.StepFinished(step_id="back", step_kind="wait-for", milestone="recover",
                                **{**finished, "ok": False})),  # failed: it recovered nothing
    ])
    figures = incident_figures(events)
    # people's detection falls back on their first acknowledgement, 10 s after the fire
    assert figures["people"] == {"detect": 10.0, "declare": 30.0, "mitigate": None, "recover": None}
    assert figures["automation"] == {"detect": 4.0, "declare": None, "mitigate": 40.0, "recover": None}


def test_the_slo_budget_spent_is_the_share_of_outage_time() -> None:
    series = [{"sent": 10, "availability": 1.0}] * 50 + [{"sent": 10, "availability": 0.0}] * 10
    budget = slo_budget(series, 1.0, {"availability": 0.999, "window_days": 30})
    # 100 requests unserved at 10 req/s: 10 s of outage, of a budget of 0.1 % of 30 days = 2592 s
    assert budget == {"availability": 0.999, "window_days": 30.0, "requests": 600, "failed": 100, "rate_rps": 10.0,
                      "budget_s": 2592.0, "spent_s": 10.0, "spent_pct": 0.386}
    assert slo_budget([], 1.0, {"availability": 0.999, "window_days": 30}) is None


def test_the_review_tells_the_surprise_the_figures_and_the_budget(world: FakeWorld) -> None:
    outage = "steps:\n  - {id: outage, fault: fake-kill, target: {datacenter: sbg}, duration_s: 0.2}\n"
    result, _, journal = run(world, lambda hand: [hand.inject("slow-app", "facilitator")],
                             text=GAMEDAY.replace("steps:\n", outage))
    summary = summarize(journal)
    assert summary["incident_figures"]["people"]["declare"] is not None
    assert summary["slo_budget"]["availability"] == 0.999
    review = review_md(summary) or ""
    assert "the facilitator: injected surprise slow-app" in review
    assert "| declare the incident |" in review and "### SLO budget" in review
    assert (result.folder / "review.md").read_text() == review
