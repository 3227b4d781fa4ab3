"""The game day as the people in the room see it: the run's events folded into one live state (`GameState`, a bus
listener), and the people's answers to manual steps taken from the game-day page (`PageOperator`).

Everything people do goes back through the bus (a note as `GamedayNote`, an answer as the engine's `ManualAction`),
so the journal has it with its time, and the review is written from the journal alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed
from tenacity.stop import stop_never, stop_when_event_set

from chaos.engine.manual import Acknowledgement
from chaos.engine.result import StepFailed
from chaos.engine.signals import sleep_until_set
from chaos.engine.surprises import FacilitatorHand
from chaos.events import (
    Bus,
    CheckDone,
    Event,
    FacilitatorAction,
    FaultInjected,
    FaultReverted,
    GamedayNote,
    LoadSampled,
    ManualAction,
    ManualPrompt,
    MetricRecorded,
    PhaseStarted,
    RunFinished,
    RunStarted,
    StepFinished,
    StepPlanned,
    StepStarted,
)
from chaos.report.incident_figures import WHO, incident_figures

ACTIONS = ("done", "skip", "abort")
MAX_TEXT = 2000  # characters of a note or a reason
SERIES_POINTS = 900  # seconds of timeline kept for the page


@dataclass
class Pending:
    """A manual step waiting for the people: who, what, since when; and their answer once given."""

    step_id: str
    instruction: str
    role: str | None
    asked_at: float
    timeout_s: float | None
    answered: threading.Event = field(default_factory=threading.Event)
    answer: Acknowledgement | None = None


class GameState:
    """The run as the page shows it, kept current from the bus; `version` grows with every change."""

    def __init__(self, roles: list[str], facilitator: str = "facilitator") -> None:
        self.roles = roles
        self.facilitator = facilitator  # injects surprises, pauses the load; may also be one of `roles`
        self.lock = threading.Condition()
        self.version = 0
        self.bus: Bus | None = None
        self.hand: FacilitatorHand | None = None
        self.load_paused = False
        self.runbook = ""
        self.started_at: float | None = None
        self.first_fault_at: float | None = None
        self.phase = ""
        self.steps: list[dict[str, Any]] = []
        self.current: str | None = None
        self.pending: dict[str, Pending] = {}
        self.faults: list[dict[str, Any]] = []  # {step_id, fault, from, to}
        self.series: list[list[Any]] = []  # [seconds since the start, requests, availability, p95_ms, by_class]
        self.timed: list[Event] = []  # what the incident's figures are read from (chaos.report.incident_figures)
        self.checks: list[dict[str, Any]] = []
        self.metrics: dict[str, Any] = {}
        self.people: list[dict[str, Any]] = []  # what people did: actions and notes, in order
        self.verdict: dict[str, Any] | None = None

    def attach(self, bus: Bus) -> None:
        """The run's bus (the engine calls this): notes written on the page are emitted on it."""
        self.bus = bus

    def attach_hand(self, hand: FacilitatorHand) -> None:
        """The run's surprises and load (the engine calls this once planned): the facilitator acts through it."""
        with self.lock:
            self.hand = hand
            self._changed()

    def _changed(self) -> None:
        self.version += 1
        self.lock.notify_all()

    def _since(self, at: float) -> float:
        return round(at - (self.started_at or at), 1)

    def __call__(self, event: Event) -> None:
        with self.lock:
            if isinstance(event, FaultInjected | ManualAction | StepFinished) or (
                    isinstance(event, StepStarted) and event.phase == "surprise"):
                self.timed.append(event)
            if isinstance(event, RunStarted):
                self.runbook, self.started_at = event.runbook, event.at
            elif isinstance(event, StepPlanned):
                self.steps.append({"id": event.step_id, "kind": event.step_kind, "phase": event.phase,
                                   "description": event.description, "status": "planned", "role": event.role,
                                   "milestone": event.milestone})
            elif isinstance(event, PhaseStarted):
                self.phase = event.phase
            elif isinstance(event, StepStarted | StepFinished) and event.phase == "surprise":
                pass  # a surprise beside the steps: shown from the hand's catalogue and the faults, not as a step
            elif isinstance(event, StepStarted):
                self.current = event.step_id
                self._step(event.step_id, event.phase)["status"] = "running"
            elif isinstance(event, StepFinished):
                self._step(event.step_id, event.phase)["status"] = "done" if event.ok else "failed"
                if self.current == event.step_id:
                    self.current = None
            elif isinstance(event, FaultInjected):
                self.first_fault_at = self.first_fault_at or event.at
                self.faults.append({"step_id": event.record.step_id, "fault": event.record.fault,
                                    "from": self._since(event.at), "to": None})
            elif isinstance(event, FaultReverted):
                for fault in self.faults:
                    if fault["step_id"] == event.step_id and fault["to"] is None and event.ok:
                        fault["to"] = self._since(event.at)
            elif isinstance(event, LoadSampled):
                self.series.append([self._since(event.at), event.requests, event.availability, event.p95_ms,
                                    event.by_class])
                del self.series[:-SERIES_POINTS]
            elif isinstance(event, CheckDone):
                self.checks.append({"name": event.name, "phase": event.phase, "expected": event.expected,
                                    "observed": event.observed, "passed": event.passed})
            elif isinstance(event, MetricRecorded):
                self.metrics[event.name] = event.value
            elif isinstance(event, ManualPrompt):
                self._step(event.step_id, "steps").update(instruction=event.instruction, role=event.role)
            elif isinstance(event, ManualAction | GamedayNote):
                self.people.append({"at": self._since(event.at), "clock": time.strftime("%H:%M:%S",
                                                                                          time.localtime(event.at)),
                                    **({"step_id": event.step_id, "action": event.action, "by": event.by}
                                       if isinstance(event, ManualAction) else {"action": "note"}),
                                    "role": event.role, "text": event.text})
            elif isinstance(event, FacilitatorAction):
                if event.error is None and event.action in ("pause", "resume"):
                    self.load_paused = event.action == "pause"
                self.people.append({"at": self._since(event.at), "clock": time.strftime("%H:%M:%S",
                                                                                          time.localtime(event.at)),
                                    "action": event.action, "role": event.role, "by": "page",
                                    "text": event.error or (f"surprise {event.surprise}" if event.surprise
                                                            else "the load")})
            elif isinstance(event, RunFinished):
                self.verdict = {"verdict": event.verdict, "reason": event.reason, "exit_code": event.exit_code}
            else:
                return
            self._changed()

    def _step(self, step_id: str, phase: str) -> dict[str, Any]:
        found = next((s for s in self.steps if s["id"] == step_id and s["phase"] == phase), None)
        if found is None:
            found = {"id": step_id, "kind": "?", "phase": phase, "description": "", "status": "planned"}
            self.steps.append(found)
        return found

    def snapshot(self) -> dict[str, Any]:
        """Everything the page draws, as JSON."""
        with self.lock:
            now = time.time()
            figures = incident_figures(self.timed)
            return {
                "version": self.version, "runbook": self.runbook, "roles": self.roles, "phase": self.phase,
                "elapsed_s": round(now - self.started_at, 1) if self.started_at else None,
                "since_first_fault_s": round(now - self.first_fault_at, 1) if self.first_fault_at else None,
                "current": self.current, "steps": self.steps, "faults": self.faults, "series": self.series,
                "checks": self.checks[-12:], "metrics": self.metrics, "people": self.people,
                "pending": [{"step_id": p.step_id, "instruction": p.instruction, "role": p.role,
                             "waiting_s": round(now - p.asked_at, 1), "timeout_s": p.timeout_s}
                            for p in self.pending.values()],
                "verdict": self.verdict, "facilitator": self.facilitator, "load_paused": self.load_paused,
                "surprises": self.hand.catalogue() if self.hand else [],
                "incident_figures": {who: figures[who] for who in WHO},
            }

    def wait_change(self, version: int, timeout_s: float) -> int:
        """Block until the state is past `version` (or the timeout): the version now."""
        with self.lock:
            self.lock.wait_for(lambda: self.version > version, timeout=timeout_s)
            return self.version

    def note(self, role: str | None, text: str) -> str | None:
        """A note from the page, journaled; an error message when it cannot be taken."""
        problem = self.check_role(role) or (None if text.strip() else "an empty note")
        if problem:
            return problem
        if self.bus is None:
            return "the run has not started"
        self.bus.emit(GamedayNote(role=role, text=text.strip()[:MAX_TEXT]))
        return None

    def ask(self, pending: Pending) -> None:
        """A manual step now waits for its people (shown on the page until `forget`)."""
        with self.lock:
            self.pending[pending.step_id] = pending
            self._changed()

    def forget(self, step_id: str) -> None:
        """The step no longer waits (answered, timed out, or the run aborted)."""
        with self.lock:
            self.pending.pop(step_id, None)
            self._changed()

    def check_role(self, role: str | None) -> str | None:
        if role is not None and role not in self.roles and role != self.facilitator:
            return f"unknown role {role!r} (the runbook's: {', '.join([*self.roles, self.facilitator])})"
        return None

    def facilitate(self, role: str | None, action: str, surprise: str = "") -> str | None:
        """The facilitator's hand from the page: inject or end a surprise, pause or resume the load; an error
        message when it cannot be done (journaled too, when the run is there to hear it)."""
        if role != self.facilitator:
            return f"only the facilitator ({self.facilitator}) injects surprises and pauses the load"
        if self.hand is None:
            return "the run is not planned yet"
        if action == "inject":
            return self.hand.inject(surprise, role)
        if action == "end":
            return self.hand.end(surprise, role)
        if action in ("pause", "resume"):
            return self.hand.pause_load(action == "pause", role)
        return f"unknown action {action!r} (one of inject, end, pause, resume)"


class PageOperator:
    """Manual steps answered from the game-day page: each role answers its own (done, skip with a reason, abort)."""

    def __init__(self, state: GameState) -> None:
        self.state = state

    def wait_done(self, step_id: str, instruction: str, *, timeout_s: float | None, abort: threading.Event,
                  role: str | None = None) -> Acknowledgement:
        pending = Pending(step_id, instruction, role, time.time(), timeout_s)
        self.state.ask(pending)
        stop = (stop_after_delay(timeout_s) if timeout_s else stop_never) | stop_when_event_set(abort)
        try:
            Retrying(stop=stop, wait=wait_fixed(0.1), retry=retry_if_result(lambda ok: not ok),
                     sleep=sleep_until_set(abort))(pending.answered.is_set)
        except RetryError:
            if not abort.is_set():
                raise StepFailed(f"nobody answered manual step {step_id} within {timeout_s:g} s",
                                 fix="the game day's clock ran out") from None
        finally:
            self.state.forget(step_id)
        return pending.answer or Acknowledgement(role=role, by="page")

    def act(self, step_id: str, role: str | None, action: str, text: str = "") -> str | None:
        """An answer from the page; an error message when it cannot be taken (nothing is changed then)."""
        if action not in ACTIONS:
            return f"unknown action {action!r} (one of {', '.join(ACTIONS)})"
        if problem := self.state.check_role(role):
            return problem
        with self.state.lock:
            pending = self.state.pending.get(step_id)
            if pending is None:
                return f"step {step_id} is not waiting for anyone"
            if pending.role is not None and role != pending.role:
                return f"step {step_id} is for {pending.role}, not {role or 'anyone'}"
            if action == "skip" and not text.strip():
                return "say why the step is skipped"
            if pending.answered.is_set():
                return f"step {step_id} is already answered"
            pending.answer = Acknowledgement(action=action, role=role, text=text.strip()[:MAX_TEXT],  # type: ignore[arg-type]
                                             by="page")
            pending.answered.set()
        return None
