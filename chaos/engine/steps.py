"""Running one step of each kind, timed, announcing what happens on the bus.

Shared by the engine and by `recover` (which may have to run a destructive fault's rebuild step).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tenacity import RetryError, Retrying, retry_if_exception_type, retry_if_result, stop_after_delay, wait_fixed
from tenacity.stop import stop_when_event_set

from chaos.engine.manual import Operator, Unattended
from chaos.engine.plan import PlannedStep, select_targets
from chaos.engine.result import StepFailed
from chaos.engine.signals import sleep_until_set
from chaos.errors import Aborted, ChaosError, FaultError, ProbeFailed
from chaos.events import (
    Bus,
    CheckDone,
    FaultEffect,
    FaultInjected,
    FaultInjecting,
    FaultReverted,
    ImpactMeasured,
    ManualAction,
    ManualPrompt,
    MetricRecorded,
    StepFinished,
    StepStarted,
)
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord
from chaos.load.interface import LoadHandle, LoadStats
from chaos.log import get_logger
from chaos.model import runbook as m
from chaos.probes.base import Measurement, Probe, ProbeContext
from chaos.stack.interface import Stack

log = get_logger(__name__)


class PlaybookRunner(Protocol):
    """Runs a remediation playbook (ansible-runner, in `chaos.remediation.runner`).

    Raise `PlaybookFailed` with the failing task's message; stop early when `cancel()` returns True.
    """

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float, cancel: Callable[[], bool]) -> None:
        ...


class NoPlaybooks:
    """The playbook runner of a run given none: a playbook step fails saying so."""

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float, cancel: Callable[[], bool]) -> None:
        raise ChaosError(f"no playbook runner configured to run {name!r}", fix="pass playbooks= to the engine")


@dataclass
class ActiveFault:
    """A fault injected (maybe reverted since): its instance, its journaled record, when."""

    fault: Fault
    record: FaultRecord
    injected_at: float
    reverted_at: float | None = None


@dataclass
class StepTimes:
    """When a step started and finished, and whether it succeeded (None: still running)."""

    started_at: float
    finished_at: float | None = None
    ok: bool | None = None


@dataclass
class StepRunner:
    """Runs steps one at a time and keeps what the run knows: metrics, active and reverted faults, step times."""

    stack: Stack
    bus: Bus
    abort: threading.Event
    playbooks: PlaybookRunner = field(default_factory=NoPlaybooks)
    operator: Operator = field(default_factory=Unattended)
    load: LoadHandle | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    active: dict[str, ActiveFault] = field(default_factory=dict)  # injected, not reverted; in injection order
    reverted: dict[str, ActiveFault] = field(default_factory=dict)
    times: dict[str, StepTimes] = field(default_factory=dict)
    effects: dict[tuple[str, str], Effect] = field(default_factory=dict)  # (step id, injected|reverted) → last seen
    clock: Callable[[], float] = time.time
    folder: Path | None = None  # the run's report folder
    window: tuple[float, float] | None = None  # set while probes are judged over a fixed window (the baseline)
    baseline: LoadStats | None = None  # the load over the measured baseline, once measured
    impacts: list[ImpactMeasured] = field(default_factory=list)  # each fault's impact, measured at verify
    settle_s: float = 1.0  # a live load window ends this long ago (its newest answers are in flight)
    not_before: float | None = None  # while a wait-for with `since` polls: its live windows start no earlier
    journeys_file: str | None = None  # the runbook's journeys (a capacity ramp plays them too)

    # ---- shared helpers ----------------------------------------------------------------------------------------

    def probe_context(self) -> ProbeContext:
        started = {step_id: t.started_at for step_id, t in self.times.items()}
        return ProbeContext(self.stack, self.load, dict(self.metrics), self.abort, self.clock, self.folder, started,
                            self.window, self.settle_s, self.not_before, self.journeys_file)

    def measure(self, probe: Probe) -> Measurement:
        return probe.measure(self.probe_context())

    def record_metric(self, name: str, value: float | None, step_id: str | None = None) -> None:
        if value is not None:
            self.metrics[name] = value
        self.bus.emit(MetricRecorded(name=name, value=value, step_id=step_id))

    def check(self, name: str, phase: str, expected: str, observed: Any, passed: bool, message: str = "",
              metric: str | None = None) -> bool:
        self.bus.emit(CheckDone(name=name, phase=phase, expected=expected, observed=observed, passed=passed,
                                message=message, metric=metric))
        return passed

    def pause(self, seconds: float) -> None:
        """Wait, but wake at once when the run is aborted."""
        if self.abort.wait(seconds):
            raise Aborted("the run was aborted while waiting")

    def poll(self, probe: Probe, until: m.Tolerance, timeout_s: float, interval_s: float) -> tuple[bool, Measurement]:
        """Measure until the tolerance holds or the deadline passes; a failed measurement is retried too."""
        retrying = Retrying(
            stop=stop_after_delay(timeout_s) | stop_when_event_set(self.abort),
            wait=wait_fixed(interval_s),
            retry=retry_if_result(lambda value: not until.holds(value)) | retry_if_exception_type(ProbeFailed),
            sleep=sleep_until_set(self.abort),  # an abort cuts the sleep short
            reraise=False,
        )
        try:
            value = retrying(self.measure, probe)
        except RetryError as exc:
            if self.abort.is_set():
                raise Aborted("the run was aborted while polling") from None
            last = exc.last_attempt
            return False, (None if last.failed else last.result())
        return True, value

    # ---- steps -------------------------------------------------------------------------------------------------

    def run_step(self, planned: PlannedStep, phase: str) -> None:
        """Run one step, timed and announced; raises what stopped it. A destructive fault it repairs is then
        reverted."""
        step = planned.step
        started, t0 = self.clock(), time.monotonic()
        self.times[step.step_id] = StepTimes(started)
        self.bus.emit(StepStarted(phase=phase, step_id=step.step_id, step_kind=step.kind,
                                  description=planned.description))
        error: str | None = None
        try:
            handler: dict[type, Callable[[PlannedStep, str], None]] = {
                m.FaultStep: self._fault,
                m.WaitForStep: self._wait_for,
                m.ProbeStep: self._probe,
                m.PlaybookStep: self._playbook,
                m.ManualStep: self._manual,
                m.RevertStep: self._revert,
            }
            next(run for kind, run in handler.items() if isinstance(step, kind))(planned, phase)  # a Surprise too
        except BaseException as exc:
            error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            times = self.times[step.step_id]
            times.finished_at, times.ok = self.clock(), error is None
            self.bus.emit(StepFinished(phase=phase, step_id=step.step_id, step_kind=step.kind, started_at=started,
                                       duration_s=time.monotonic() - t0, ok=error is None, error=error,
                                       milestone=getattr(step, "milestone", None)))
        self._close_faults_reverted_by(step.step_id)

    def _fault(self, planned: PlannedStep, phase: str) -> None:
        step: m.FaultStep = planned.step
        assert planned.fault is not None
        # Resolved again now: a step after a rebuild must hit the new containers, not the planned ids.
        targets = select_targets(self.stack, step)
        repairs = step.repair_steps  # the last one's success reverts the fault (journaled: `recover` needs it)
        record = FaultRecord(step.fault, step.step_id, targets, dict(step.params),
                             destructive=planned.fault.destructive, reverted_by=repairs[-1] if repairs else None)
        record = record.with_state(**planned.fault.prepare(FaultContext(self.stack, record, self.abort)))
        # Known to the rollback first, then journaled (fsynced), then applied: a signal anywhere in between
        # leaves at worst a revert of something never injected, which revert tolerates.
        self.active[step.step_id] = ActiveFault(planned.fault, record, self.clock())
        self.bus.emit(FaultInjecting(record=record))
        t0 = time.monotonic()
        try:
            record = planned.fault.inject(FaultContext(self.stack, record, self.abort))
        except ChaosError:
            raise
        except Exception as exc:
            raise FaultError(f"{step.fault} could not be injected: {exc}", where=f"step {step.step_id}") from exc
        self.active[step.step_id].record = record
        self.bus.emit(FaultInjected(record=record, duration_s=time.monotonic() - t0))
        self.check_effect(step.step_id, "injected")  # not verified: FaultError, and the rollback reverts it
        if step.duration_s:
            self.pause(step.duration_s)
            self.revert(step.step_id, by="duration")

    def revert(self, step_id: str, *, by: str, mark: bool = True) -> None:
        """Revert an active fault through its `revert`; journaled whether it worked or not.

        With `mark`, the revert is then checked (`check_reverted`): a fault whose effect is still there stays
        active (and pending in the journal, for `recover`), and the revert fails with the evidence.
        `mark=False` for a destructive fault: `revert` only cleans up, the fault stays pending (in the journal
        too) until its rebuild step succeeds and its revert is checked, so a failed rebuild is retried by `recover`.
        """
        active = self.active[step_id]
        t0 = time.monotonic()
        try:
            active.fault.revert(FaultContext(self.stack, active.record, self.abort), active.record)
        except Exception as exc:
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            self.bus.emit(FaultReverted(step_id=step_id, fault=active.record.fault, by=by,
                                        duration_s=time.monotonic() - t0, ok=False, error=message))
            raise
        if mark:
            self._mark_reverted(step_id, by, time.monotonic() - t0)

    def succeeded(self, step_id: str) -> bool:
        """The step ran to its end without error (in this run, or as the journal tells `recover`)."""
        times = self.times.get(step_id)
        return times is not None and bool(times.ok)

    def confirm_reverted(self, step_id: str, *, by: str) -> None:
        """A destructive fault whose repair steps have all succeeded: check the revert now, and mark it.

        Raises `FaultError` with the evidence when the datacenter is still not back (it stays pending)."""
        self._mark_reverted(step_id, by, 0.0)

    def check_effect(self, step_id: str, phase: str) -> Effect:
        """Run the fault's effect check (`injected`) or revert check (`reverted`), timed on its own; journal it.

        Raises `FaultError` carrying the evidence when the effect is not observed (or, reverted, still there).
        """
        active = self.active[step_id]
        fault, record = active.fault, active.record
        ctx = FaultContext(self.stack, record, self.abort)
        t0 = time.monotonic()
        try:
            effect = fault.check_effect(ctx, record) if phase == "injected" else fault.check_reverted(ctx, record)
        except Aborted:
            raise
        except Exception as exc:  # a check that cannot look proves nothing: not verified, with the reason
            effect = Effect(False, {"error": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"})
        effect = Effect(effect.verified, {**effect.evidence, "check_s": round(time.monotonic() - t0, 3)})
        self.effects[(step_id, phase)] = effect
        self.bus.emit(FaultEffect(step_id=step_id, fault=record.fault, phase=phase, verified=effect.verified,
                                  evidence=effect.evidence))
        log.info("fault_effect_checked", step=step_id, fault=record.fault, phase=phase, verified=effect.verified,
                 check_s=effect.evidence["check_s"])
        if not effect.verified:
            what = "did not take effect" if phase == "injected" else "was reverted but its effect is still there"
            raise FaultError(f"{record.fault} {what}; evidence: {json.dumps(effect.evidence, sort_keys=True)}",
                             where=f"step {step_id}",
                             fix="see the evidence: the fault ran but the stack did not change as it should")
        return effect

    def _mark_reverted(self, step_id: str, by: str, duration_s: float) -> None:
        """Check the revert, then journal it as reverted at the moment the revert itself ended (not the check)."""
        reverted_at = self.clock()
        active = self.active[step_id]
        try:
            self.check_effect(step_id, "reverted")
        except FaultError as exc:
            self.bus.emit(FaultReverted(step_id=step_id, fault=active.record.fault, by=by, duration_s=duration_s,
                                        ok=False, error=exc.message))
            raise
        self.active.pop(step_id)
        active.reverted_at = reverted_at
        self.reverted[step_id] = active
        self.bus.emit(FaultReverted(at=reverted_at, step_id=step_id, fault=active.record.fault, by=by,
                                    duration_s=duration_s))

    def _close_faults_reverted_by(self, step_id: str) -> None:
        """A destructive fault is repaired by the step it names: once that step succeeded and the revert is
        checked (the datacenter runs again), it is reverted."""
        for fault_step, active in list(self.active.items()):
            if active.record.reverted_by == step_id:
                self._mark_reverted(fault_step, step_id, self.clock() - self.times[step_id].started_at)

    def _revert(self, planned: PlannedStep, phase: str) -> None:
        step: m.RevertStep = planned.step
        if step.revert in self.active:  # in rollback, it may be reverted already
            self.revert(step.revert, by=step.step_id)

    def _wait_for(self, planned: PlannedStep, phase: str) -> None:
        step: m.WaitForStep = planned.step
        assert planned.probe is not None
        self.not_before = self.times[step.since].started_at if step.since else None
        try:
            ok, value = self.poll(planned.probe, step.until, step.timeout_s, step.interval_s)
        finally:
            self.not_before = None
        if not ok:
            raise StepFailed(f"{step.wait_for} did not reach {step.until.describe()} within {step.timeout_s:g} s "
                             f"(last: {value!r})", where=f"step {step.step_id}")
        if step.record:
            since = self.times[step.since].started_at if step.since else self.times[step.step_id].started_at
            self.record_metric(step.record, round(self.clock() - since, 3), step.step_id)

    def _probe(self, planned: PlannedStep, phase: str) -> None:
        step: m.ProbeStep = planned.step
        assert planned.probe is not None
        value = self.measure(planned.probe)
        if step.record:
            self.record_metric(step.record, value if isinstance(value, int | float) else None, step.step_id)
        if step.expect is not None:
            self.check(f"{step.step_id}: {step.probe}", phase, step.expect.describe(), value, step.expect.holds(value))

    def _playbook(self, planned: PlannedStep, phase: str) -> None:
        step: m.PlaybookStep = planned.step
        t0 = time.monotonic()
        self.playbooks.run(step.playbook, step.extravars, timeout_s=step.timeout_s, cancel=self.abort.is_set)
        if self.abort.is_set():
            raise Aborted(f"the run was aborted during playbook {step.playbook}")
        if step.record:
            self.record_metric(step.record, round(time.monotonic() - t0, 3), step.step_id)

    def _manual(self, planned: PlannedStep, phase: str) -> None:
        step: m.ManualStep = planned.step
        self.bus.emit(ManualPrompt(step_id=step.step_id, instruction=step.manual, timeout_s=step.timeout_s,
                                   role=step.role))
        t0 = time.monotonic()
        if not getattr(self.operator, "attended", True) and step.unattended == "fail":
            raise StepFailed(f"manual step {step.step_id} is for people and nobody is in the loop (an unattended run)",
                             fix="run it as a game day (`entchaos gameday`, or `run --gameday`), or declare what an "
                                 "unattended run does instead: `unattended: done` or `unattended: skip`")
        ack = self.operator.wait_done(step.step_id, step.manual, timeout_s=step.timeout_s, abort=self.abort,
                                      role=step.role)
        if not getattr(self.operator, "attended", True) and step.unattended == "skip":
            ack = dataclasses.replace(ack, action="skip", text="nobody in the loop: the step's declared fallback")
        if self.abort.is_set():
            raise Aborted("the run was aborted during a manual step")
        self.bus.emit(ManualAction(step_id=step.step_id, action=ack.action, role=ack.role or step.role,
                                   text=ack.text, by=ack.by))
        if ack.action == "abort":
            raise Aborted(f"the game day was stopped at step {step.step_id} by {ack.role or 'someone'}"
                          + (f": {ack.text}" if ack.text else ""), fix="it rolled back")
        if ack.action == "skip":
            return  # not done: no time to record
        if step.record:
            self.record_metric(step.record, round(time.monotonic() - t0, 3), step.step_id)
