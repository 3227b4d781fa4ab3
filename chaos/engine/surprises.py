"""The facilitator's hand during a game day: the runbook's surprises injected on request, the load paused.

A surprise is a fault the runbook allows (`gameday.surprises`): loaded, validated and planned with the steps, its
targets chosen by label under the same blast-radius rule and its kernel needs asked before anything is injected.
Asked for from the page while the steps run, it is run in a thread of its own beside them: `StepRunner.run_step`
injects it and checks its effect (journaled as any fault step, phase `surprise`), then it is reverted after its
duration, earlier when the facilitator ends it, or when the steps are over (`close`, before verify and rollback);
a run that dies leaves it pending in the journal, for `entchaos recover`. Each surprise happens at most once a run.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from chaos.engine.plan import PlannedStep
from chaos.engine.steps import StepRunner
from chaos.errors import ChaosError
from chaos.events import FacilitatorAction
from chaos.log import get_logger

log = get_logger(__name__)

OVER = "the game day is over"
JOIN_S = 120.0  # a surprise's revert is bounded (docker, SSH); past this the rollback reverts it instead


@dataclass
class _Running:
    thread: threading.Thread
    end: threading.Event
    ended_by: str = "duration"


class FacilitatorHand:
    """Injects the runbook's surprises and pauses the load on the facilitator's word, while the steps run."""

    def __init__(self, runner: StepRunner, surprises: list[PlannedStep]) -> None:
        self.runner = runner
        self.available = {p.step_id: p for p in surprises}
        self.lock = threading.Lock()
        self.open = False
        self.running: dict[str, _Running] = {}
        self.load_paused = False
        self.over = False  # the run has ended: nothing more is taken, nor journaled (the journal is closed)

    def catalogue(self) -> list[dict[str, Any]]:
        """The surprises the page offers: what, on whom, for how long, and whether it happened yet."""
        with self.lock:
            return [{"id": sid, "fault": p.step.fault, "description": p.step.description or p.description,
                     "targets": [t.service for t in p.targets], "duration_s": p.step.duration_s,
                     "state": self._state(sid)} for sid, p in self.available.items()]

    def _state(self, surprise_id: str) -> str:
        if surprise_id not in self.running:
            return "ready"
        return "in force" if surprise_id in self.runner.active else "over"

    def start(self) -> None:
        """The steps begin: surprises may be injected from now on."""
        with self.lock:
            self.open = True

    def inject(self, surprise_id: str, role: str | None) -> str | None:
        """Inject a surprise now; an error message when it cannot be (nothing done then)."""
        if self.over:
            return OVER
        with self.lock:
            problem = self._refusal(surprise_id)
            if problem is None:
                running = _Running(threading.Thread(target=self._run, args=(surprise_id,),
                                                    name=f"surprise-{surprise_id}", daemon=True), threading.Event())
                self.running[surprise_id] = running
        self.runner.bus.emit(FacilitatorAction(action="inject", role=role, surprise=surprise_id, error=problem))
        if problem is None:
            log.info("surprise_requested", surprise=surprise_id, role=role)
            running.thread.start()
        return problem

    def _refusal(self, surprise_id: str) -> str | None:
        if surprise_id not in self.available:
            known = ", ".join(self.available) or "none"
            return f"no surprise {surprise_id!r} in the runbook (its `gameday.surprises`: {known})"
        if not self.open:
            return "surprises are injected while the steps run (not before the baseline, not after the steps)"
        if surprise_id in self.running:
            return f"surprise {surprise_id} has happened already (each happens once a game day)"
        return None

    def end(self, surprise_id: str, role: str | None) -> str | None:
        """Revert a surprise in force before its time; an error message when there is none such."""
        if self.over:
            return OVER
        with self.lock:
            running = self.running.get(surprise_id)
            problem = (None if running is not None and surprise_id in self.runner.active and not running.end.is_set()
                       else f"surprise {surprise_id} is not in force")
            if running is not None and problem is None:
                running.ended_by = "facilitator"
                running.end.set()
        self.runner.bus.emit(FacilitatorAction(action="end", role=role, surprise=surprise_id, error=problem))
        return problem

    def pause_load(self, paused: bool, role: str | None) -> str | None:
        """Pause (or resume) the load; an error message when it cannot be."""
        if self.over:
            return OVER
        action = "pause" if paused else "resume"
        load = self.runner.load
        problem: str | None = None
        with self.lock:
            if load is None:
                problem = "the load is not running"
            elif paused == self.load_paused:
                problem = f"the load is {'paused' if paused else 'running'} already"
            else:
                try:
                    load.pause(paused)
                    self.load_paused = paused
                except ChaosError as exc:
                    problem = exc.message
        self.runner.bus.emit(FacilitatorAction(action=action, role=role, error=problem))
        return problem

    def close(self, by: str, *, last: bool = False) -> None:
        """The steps are over (`by`: why): every surprise in force is reverted by its own thread, waited for; the
        load sends again. Past `JOIN_S`, what is still in force is left to the rollback. `last`: the run ends,
        the hand takes nothing more."""
        with self.lock:
            self.open = False
            running = list(self.running.values())
            for item in running:
                if not item.end.is_set():
                    item.ended_by = by
                    item.end.set()
        for item in running:
            item.thread.join(JOIN_S)
            if item.thread.is_alive():
                log.error("surprise_still_running", thread=item.thread.name, left_to="rollback")
        if self.load_paused:
            self.pause_load(False, role=None)
        self.over = self.over or last

    def _run(self, surprise_id: str) -> None:
        planned = self.available[surprise_id]
        running = self.running[surprise_id]
        # Injected and checked by the step runner, held here: the wait below is cut short by `end` and `close`.
        now = dataclasses.replace(planned, step=planned.step.model_copy(update={"duration_s": None}))
        held = True
        try:
            self.runner.run_step(now, "surprise")
        except BaseException as exc:  # not verified, not injected, aborted: said, and reverted at once if in force
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.runner.check(f"surprise {surprise_id}", "surprise", "takes effect", message, False)
            held, running.ended_by = False, "not verified"
        if surprise_id not in self.runner.active:
            return
        if held:
            running.end.wait(planned.step.duration_s)
        try:
            self.runner.revert(surprise_id, by=running.ended_by)
        except Exception as exc:  # still in force: the rollback tries again, `recover` after it
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.runner.check(f"surprise {surprise_id}", "surprise", "reverted", message, False)
