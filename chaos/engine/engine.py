"""The engine: the data flow of DESIGN.md, with rollback always.

    plan → start load → hypothesis → steps (stop conditions watched) → verify → rollback (always) → reports

Everything it does is announced on the bus; the journal, the console view and the reports listen.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed
from tenacity.stop import stop_when_event_set

from chaos.engine.impact import measure_impact
from chaos.engine.lock import StackLock
from chaos.engine.manual import Operator, Unattended
from chaos.engine.plan import Plan, PlannedStep, check_environment, make_plan, probe_key
from chaos.engine.result import EXIT_CODES, CheckResult, RunResult, StepFailed, Verdict
from chaos.engine.signals import SignalGuard
from chaos.engine.steps import NoPlaybooks, PlaybookRunner, StepRunner
from chaos.engine.surprises import FacilitatorHand
from chaos.engine.watch import Guard, Watcher
from chaos.errors import Aborted, ChaosError, PlaybookFailed, ProbeFailed
from chaos.events import (
    Bus,
    CheckDone,
    Event,
    ImpactMeasured,
    Listener,
    LoadSeries,
    LoadStarted,
    LoadStopped,
    PhaseStarted,
    RunFinished,
    RunInterrupted,
    RunStarted,
    StepPlanned,
    WindowMeasured,
)
from chaos.faults.base import FAULTS, Fault
from chaos.journal import JOURNAL_NAME, Journal
from chaos.load.interface import LoadHandle, LoadStats
from chaos.log import RUN_LOG_NAME, get_logger, run_log
from chaos.model import runbook as m
from chaos.probes.base import PROBES, Probe
from chaos.registry import Registry
from chaos.report.folder import new_run_folder, point_latest
from chaos.report.writer import ReportWriter
from chaos.stack.interface import Stack

log = get_logger(__name__)

# How the engine gets its load: `chaos.load.handle` on a real stack, a fake in tests (wired by `chaos.launch`).
LoadFactory = Callable[[m.LoadSpec, Stack], LoadHandle]

SETTLE_S = 1.0  # a window is read this long after its end: the answers to its newest requests are in flight


@dataclass
class _Outcome:
    """What went wrong, in order of precedence: aborted > error > rollback failed > failed."""

    aborted: str | None = None
    error: ChaosError | None = None
    failures: list[str] = field(default_factory=list)
    rollback_errors: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)

    def __call__(self, event: Event) -> None:  # a listener: every check counts for the verdict
        if isinstance(event, CheckDone):
            self.checks.append(CheckResult(event.name, event.phase, event.expected, event.observed, event.passed,
                                           event.message))
            if not event.passed:
                self.failures.append(f"{event.name}: expected {event.expected}, observed {event.observed!r}")

    def verdict(self) -> tuple[Verdict, int, str]:
        if self.aborted:
            return "aborted", EXIT_CODES["aborted"], _join(self.aborted, self.rollback_errors)
        if self.error is not None:
            return "error", self.error.exit_code, _join(self.error.message, self.rollback_errors)
        if self.rollback_errors:
            return "error", EXIT_CODES["error"], _join("rollback failed", self.rollback_errors)
        if self.failures:
            return "fail", EXIT_CODES["fail"], "; ".join(self.failures)
        return "pass", EXIT_CODES["pass"], ""


def _join(head: str, rest: list[str]) -> str:
    return "; ".join([head, *(f"rollback: {r}" for r in rest)])


def _message(exc: BaseException) -> str:
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


class Engine:
    """Runs one runbook against a stack, with its load, playbooks, people and listeners; `run` returns the result."""

    def __init__(
        self,
        runbook: m.Runbook,
        stack: Stack,
        *,
        load_factory: LoadFactory | None = None,
        playbooks: PlaybookRunner | None = None,
        operator: Operator | None = None,
        listeners: Iterable[Listener] = (),
        reports_dir: str | Path = "reports",
        state_dir: str | Path = ".entchaos",
        faults: Registry[type[Fault]] = FAULTS,
        probes: Registry[type[Probe]] = PROBES,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.runbook, self.stack = runbook, stack
        self.load_factory = load_factory
        self.playbooks = playbooks or NoPlaybooks()
        self.operator = operator or Unattended()
        self.listeners = list(listeners)
        self.reports_dir, self.state_dir = Path(reports_dir), Path(state_dir)
        self.faults, self.probes = faults, probes
        self.settle_s = settle_s  # how long after a window's end its answers are all in

    def run(self) -> RunResult:
        """Run the runbook; always returns a result (raises only when the stack is locked by another run)."""
        lock = StackLock(self.state_dir, self.stack.project)
        lock.acquire(owner=f"runbook {self.runbook.name}")
        try:
            return self._run_locked()
        finally:
            lock.release()

    def _run_locked(self) -> RunResult:
        folder = new_run_folder(self.reports_dir, self.runbook.name)
        point_latest(self.reports_dir, folder)  # from its start: `recover` and people find a killed run
        with run_log(folder / RUN_LOG_NAME):  # the structured log of the run, beside its journal
            return self._run_in(folder)

    def _run_in(self, folder: Path) -> RunResult:
        journal = Journal(folder / JOURNAL_NAME)
        outcome = _Outcome()
        bus = Bus(journal, outcome, *self.listeners, ReportWriter(folder))
        for listener in self.listeners:  # a listener that also speaks (the game-day page's notes) gets the bus
            if attach := getattr(listener, "attach", None):
                attach(bus)
        runner = StepRunner(self.stack, bus, threading.Event(), self.playbooks, self.operator, folder=folder,
                            settle_s=self.settle_s,
                            journeys_file=self.runbook.load.journeys_file if self.runbook.load else None)
        started = time.monotonic()
        bus.emit(RunStarted(run_id=uuid.uuid4().hex[:12], runbook=self.runbook.name,
                            runbook_path=_absolute(self.runbook.source), project=self.stack.project, folder=str(folder),
                            description=self.runbook.metadata.description,
                            regression={k: v.to_spec() for k, v in self.runbook.regression.items()},
                            slo=self.runbook.gameday.slo.model_dump() if self.runbook.gameday else None))
        log.info("run_started", runbook=self.runbook.name, folder=str(folder))
        plan: Plan | None = None
        watcher: Watcher | None = None
        hand: FacilitatorHand | None = None
        with SignalGuard() as guard:
            try:
                plan = make_plan(self.runbook, self.stack, faults=self.faults, probes=self.probes)
                check_environment(plan, self.stack)  # kernel support, browser...: before anything is injected
                hand = FacilitatorHand(runner, plan.phase("surprise"))
                for listener in self.listeners:  # the game-day page: the facilitator's surprises and load pause
                    if attach_hand := getattr(listener, "attach_hand", None):
                        attach_hand(hand)
                for planned in plan.steps:
                    if planned.phase == "surprise":
                        continue  # offered to the facilitator, not planned: it happens only if asked
                    bus.emit(StepPlanned(phase=planned.phase, step_id=planned.step_id, step_kind=planned.step.kind,
                                         description=planned.description,
                                         targets=[t.to_dict() for t in planned.targets],
                                         role=getattr(planned.step, "role", None),
                                         milestone=getattr(planned.step, "milestone", None)))
                runner.load = self._start_load(bus)
                watcher = self._start_watcher(bus, runner, plan)
                self._experiment(bus, runner, plan, watcher, outcome, hand)
            except (Aborted, KeyboardInterrupt) as exc:
                reason = _breach_reason(watcher) if watcher else None
                outcome.aborted = reason or (_message(exc) if isinstance(exc, Aborted) else "interrupted (Ctrl-C)")
                bus.emit(RunInterrupted(reason=outcome.aborted))
            except ChaosError as exc:
                outcome.error = exc
                log.error("run_failed_with_error", error=exc.message)
            except Exception as exc:
                outcome.error = ChaosError(f"unexpected {type(exc).__name__}: {exc}", fix="a bug: please report it")
                log.exception("run_crashed")
            finally:
                guard.hold()  # from here on a signal is noted, never obeyed: rollback and reports must finish
                if hand is not None:
                    hand.close(by="rollback", last=True)  # a surprise in force is reverted by its own thread
                self._rollback(bus, runner, plan, outcome)
                if watcher is not None:
                    watcher.stop()
                self._stop_load(bus, runner.load, outcome)
            verdict, code, reason = outcome.verdict()
            bus.emit(RunFinished(verdict=verdict, exit_code=code, reason=reason,
                                 duration_s=round(time.monotonic() - started, 3)))
            journal.close()
        log.info("run_finished", runbook=self.runbook.name, verdict=verdict, exit_code=code, folder=str(folder))
        return RunResult(self.runbook.name, verdict, code, folder, reason, dict(runner.metrics), list(outcome.checks))

    # ---- phases ------------------------------------------------------------------------------------------------

    def _start_load(self, bus: Bus, runner: StepRunner | None = None) -> LoadHandle | None:
        """At the start of the run, or (`runner` given) once the step named by `start_after` has finished."""
        spec = self.runbook.load
        if spec is None or (spec.start_after is not None and runner is None):
            return None
        if spec.scale_by is not None:
            assert runner is not None
            value = runner.metrics.get(spec.scale_by)
            if not value or value <= 0:
                raise StepFailed(f"the load is scaled by `{spec.scale_by}`, which was not measured (got {value!r})",
                                 where=f"step {spec.start_after}", fix="see why that step recorded nothing")
            spec = spec.model_copy(update={"scale": spec.scale * value})
            log.info("load_scaled", by=spec.scale_by, scale=spec.scale)
        if self.load_factory is None:
            raise ChaosError("the runbook has a `load` section but no load generator was given",
                             fix="pass load_factory= to the engine")
        load = self.load_factory(spec, self.stack)
        load.start()
        bus.emit(LoadStarted(profile=spec.profile, source=spec.source))
        return load

    def _stop_load(self, bus: Bus, load: LoadHandle | None, outcome: _Outcome) -> None:
        if load is None:
            return
        try:
            load.stop()
            stats = load.stats()
            bus.emit(LoadStopped(requests=stats.requests, failures=stats.failures, generators=load.generators()))
            sample_s = self.runbook.load.sample_s if self.runbook.load else 1.0
            origin, rows = load.series(sample_s)
            bus.emit(LoadSeries(origin=origin, step_s=sample_s, rows=rows))
        except Exception as exc:
            outcome.rollback_errors.append(f"stopping the load: {_message(exc)}")

    def _start_watcher(self, bus: Bus, runner: StepRunner, plan: Plan) -> Watcher:
        guards = [Guard(c, plan.probes[probe_key(c.probe, c.params)]) for c in self.runbook.stop_conditions]
        sample_s = self.runbook.load.sample_s if self.runbook.load else 1.0
        watcher = Watcher(bus, runner.abort, runner.probe_context, guards, runner.load, sample_s)
        watcher.start()
        return watcher

    def _experiment(self, bus: Bus, runner: StepRunner, plan: Plan, watcher: Watcher, outcome: _Outcome,
                    hand: FacilitatorHand) -> None:
        bus.emit(PhaseStarted(phase="hypothesis-before"))
        warmup = self.runbook.hypothesis.warmup_s if self.runbook.hypothesis else 0.0
        if not self._hypothesis(runner, plan, "hypothesis-before", settle_s=warmup) or not self._baseline(
                bus, runner, plan):
            log.warning("steady_state_not_met", runbook=self.runbook.name)
            return  # nothing injected: the system was not steady to begin with
        bus.emit(PhaseStarted(phase="steps"))
        watcher.arm()
        hand.start()
        try:
            for planned in plan.phase("steps"):
                if runner.abort.is_set():
                    raise Aborted("a stop condition was breached")
                try:
                    runner.run_step(planned, "steps")
                    if self.runbook.load and self.runbook.load.start_after == planned.step_id:
                        runner.load = self._start_load(bus, runner)
                except (StepFailed, PlaybookFailed, ProbeFailed) as exc:
                    runner.check(f"step {planned.step_id}", "steps", "completes", _message(exc), False)
                    if planned.step.continue_on_failure:
                        continue  # measured for the record, e.g. what an unprotected stack did
                    break  # the remaining steps assume this one worked; verify says how bad it is
        finally:
            # The surprises end with the steps: verify judges a stack left alone (an abort: the rollback's).
            hand.close(by="rollback" if runner.abort.is_set() else "end of steps")
            watcher.disarm()
        if runner.abort.is_set():
            raise Aborted("a stop condition was breached")
        bus.emit(PhaseStarted(phase="verify"))
        self._impacts(bus, runner)
        hyp = self.runbook.hypothesis
        if hyp and hyp.check_after:
            self._hypothesis(runner, plan, "hypothesis-after", settle_s=hyp.settle_s)
        for check in self.runbook.verify:
            self._verify(runner, plan, check)

    def _baseline(self, bus: Bus, runner: StepRunner, plan: Plan) -> bool:
        """Run the load with no fault for `baseline_s`, judge the hypothesis over that whole window, and keep its
        figures: what every later window is compared with."""
        hyp = self.runbook.hypothesis
        if hyp is None or hyp.baseline_s <= 0 or runner.load is None:
            log.info("baseline_skipped", reason="no hypothesis, baseline_s: 0, or the load starts later")
            return True
        bus.emit(PhaseStarted(phase="baseline"))
        need = max([int(c.params.get("min_requests") or 0) for c in hyp.probes if c.probe.startswith("load-")] + [1])
        since = runner.clock()
        runner.pause(hyp.baseline_s + self.settle_s)  # the newest answers are in flight for a moment
        until = since + hyp.baseline_s
        stats = runner.load.stats(since=since, until=until)
        if stats.requests < need:  # a slow load: measure longer, at most twice as long
            runner.pause(hyp.baseline_s)
            until = since + 2 * hyp.baseline_s
            stats = runner.load.stats(since=since, until=until)
        runner.window = (since, until)
        try:
            ok = True
            for call in hyp.probes:
                probe = plan.probes[probe_key(call.probe, call.params)]
                ok &= self._probe_check(runner, probe, call.expect, f"baseline: {call.name}", "baseline", 0.0)
        finally:
            runner.window = None
        runner.baseline = stats
        figures = {"baseline_availability": stats.availability, "baseline_p50_ms": stats.percentile_ms(50),
                   "baseline_p95_ms": stats.percentile_ms(95), "baseline_p99_ms": stats.percentile_ms(99),
                   "baseline_rps": stats.rps}
        for name, value in figures.items():
            runner.record_metric(name, None if value is None else round(value, 4))
        _emit_window(bus, "baseline", stats)
        log.info("baseline_measured", requests=stats.requests, **{k: v for k, v in figures.items() if v is not None})
        return ok

    def _impacts(self, bus: Bus, runner: StepRunner) -> None:
        """Each fault's impact on users, from the load's ticks (see `chaos.engine.impact`)."""
        hyp = self.runbook.hypothesis
        if runner.load is None:
            return
        level = hyp.level() if hyp else 0.99
        hold_s = hyp.hold_s if hyp else 3.0
        faults = sorted([*runner.reverted.items(), *runner.active.items()], key=lambda item: item[1].injected_at)
        single = sum(isinstance(s, m.FaultStep) for s in self.runbook.steps) == 1
        for i, (step_id, fault) in enumerate(faults):
            try:
                ticks = runner.load.ticks(fault.injected_at - 1.0)
                impact = measure_impact(ticks, fault.injected_at, level, hold_s)
                window = runner.load.stats(since=fault.injected_at, until=impact.recovered_at)
                next_at = faults[i + 1][1].injected_at if i + 1 < len(faults) else None
                ratio = self._recovered_p95_ratio(runner, impact.recovered_at, hold_s, next_at)
            except ChaosError as exc:
                log.warning("impact_not_measured", step=step_id, error=exc.message)
                continue
            figures: dict[str, float | None] = {
                "impact_window_s": impact.impact_window_s,
                "impact_availability": None if impact.availability is None else round(impact.availability, 4),
                "outage_s": impact.outage_s,
                "failed_requests": sum(window.failed_by_class.values()),
                "failed_journeys": sum(window.failed_journeys.values()),
                "recovered_p95_ratio": None if ratio is None else round(ratio, 3),
            }
            for name, value in figures.items():
                runner.record_metric(f"{step_id}.{name}", value, step_id)
                if single:
                    runner.record_metric(name, value, step_id)
            _emit_window(bus, f"impact:{step_id}", window)
            runner.impacts.append(ImpactMeasured(
                                    step_id=step_id, fault=fault.record.fault, injected_at=fault.injected_at,
                                    recovered_at=impact.recovered_at, level=level, hold_s=hold_s,
                                    impact_window_s=impact.impact_window_s, impact_availability=impact.availability,
                                    outage_s=impact.outage_s, outage_since=impact.outage_since,
                                    outage_until=impact.outage_until, failed_requests=dict(window.failed_by_class),
                                    failed_journeys=dict(window.failed_journeys), recovered_p95_ratio=ratio))
            bus.emit(runner.impacts[-1])

    def _recovered_p95_ratio(self, runner: StepRunner, recovered_at: float | None, hold_s: float,
                             next_at: float | None) -> float | None:
        """p95 over the 10 s after recovery (cut at the next fault) against the baseline's p95."""
        if recovered_at is None or runner.baseline is None or runner.load is None:
            return None
        until = recovered_at + max(10.0, hold_s)
        if next_at is not None:
            until = min(until, next_at)
        after = runner.load.stats(since=recovered_at, until=min(until, runner.clock() - self.settle_s))
        p95, base = after.percentile_ms(95), runner.baseline.percentile_ms(95)
        return None if p95 is None or not base else p95 / base

    def _hypothesis(self, runner: StepRunner, plan: Plan, phase: str, settle_s: float) -> bool:
        ok = True
        for call in self.runbook.hypothesis.probes if self.runbook.hypothesis else []:
            probe = plan.probes[probe_key(call.probe, call.params)]
            ok &= self._probe_check(runner, probe, call.expect, f"steady state: {call.name}", phase, settle_s)
        return ok

    def _probe_check(
        self, runner: StepRunner, probe: Probe, expect: m.Tolerance, name: str, phase: str, within_s: float
    ) -> bool:
        try:
            if within_s > 0:
                passed, value = runner.poll(probe, expect, within_s, max(0.05, min(1.0, within_s / 10)))
            else:
                value = runner.measure(probe)
                passed = expect.holds(value)
        except ProbeFailed as exc:
            return runner.check(name, phase, expect.describe(), None, False, exc.message)
        return runner.check(name, phase, expect.describe(), value, passed)

    def _verify(self, runner: StepRunner, plan: Plan, check: m.Verification) -> None:
        if isinstance(check, m.ProbeCheck):
            probe = plan.probes[probe_key(check.probe, check.params)]
            self._probe_check(runner, probe, check.expect, check.name or check.probe, "verify", check.within_s)
        elif isinstance(check, m.MetricCheck):
            value = runner.metrics.get(check.metric)
            if value is None and check.metric == "lost_acked_writes" and runner.load is not None:
                value = runner.load.stats().lost_acked_writes
                runner.record_metric(check.metric, value)
            runner.check(check.name or check.metric, "verify", check.expect.describe(), value,
                         check.expect.holds(value), "" if value is not None else "never recorded")
        else:
            assert runner.load is not None, "the loader demands `load` for availability and latency checks"
            since, until = _window(runner, check.window)
            stats = _open_window_stats(runner, runner.load, check, since, until)
            _emit_window(runner.bus, check.window, stats)
            if stats.requests < check.min_requests and until is None:
                runner.check(check.name or check.window, "verify", "measured", None, False,
                             f"only {stats.requests} requests in window {check.window} after "
                             f"{AFTER_WAIT_S:g} s (min_requests {check.min_requests}): the load stopped?")
                return
            if isinstance(check, m.AvailabilityCheck):
                value, tolerance = stats.availability, check.availability
                metric = check.record or _window_metric("availability", check.window)
                runner.record_metric(metric, value)
                runner.check(check.name or f"{metric} ({check.window})", "verify", tolerance.describe(), value,
                             tolerance.holds(value), metric=metric)
            else:
                self._latency_check(runner, check, stats)

    def _latency_check(self, runner: StepRunner, check: m.LatencyCheck, stats: LoadStats) -> None:
        bound = check.latency
        pct = f"p{bound.percentile:g}".replace(".", "_")
        value = stats.percentile_ms(bound.percentile)
        metric = check.record or _window_metric(f"{pct}_ms", check.window)
        runner.record_metric(metric, value)
        expected, passed, message = [], value is not None, ""
        if bound.lte_ms is not None:
            expected.append(f"<= {bound.lte_ms:g} ms")
            passed = passed and value is not None and value <= bound.lte_ms
        if bound.max_ratio_to_baseline is not None:
            base = runner.baseline.percentile_ms(bound.percentile) if runner.baseline else None
            ratio = value / base if value is not None and base else None
            runner.record_metric(_window_metric(f"{pct}_ratio_to_baseline", check.window), ratio)
            expected.append(f"<= {bound.max_ratio_to_baseline:g} x the baseline ({_fmt_ms(base)})")
            passed = passed and ratio is not None and ratio <= bound.max_ratio_to_baseline
            if ratio is None:
                message = (f"no baseline p{bound.percentile:g} to compare with" if not base else
                           f"the window {check.window} held no request ({_span_of(stats)}): nothing measured")
        elif value is None:
            message = f"the window {check.window} held no request ({_span_of(stats)}): nothing measured"
        runner.check(check.name or f"{metric} ({check.window})", "verify", " and ".join(expected), value, passed,
                     message, metric=metric)

    def _rollback(self, bus: Bus, runner: StepRunner, plan: Plan | None, outcome: _Outcome) -> None:
        """Revert injected-but-not-reverted faults (newest first; a destructive one through its repair steps), then
        run the rollback steps. Never raises."""
        bus.emit(PhaseStarted(phase="rollback"))
        runner.abort = threading.Event()  # a fresh one: the abort that brought us here must not cut the rollback
        for step_id in reversed(list(runner.active)):
            if step_id not in runner.active:
                continue  # a repair step just run repaired it too
            repairs = _repairs(plan, step_id)
            try:
                runner.revert(step_id, by="rollback", mark=not repairs)
            except Exception as exc:
                outcome.rollback_errors.append(f"revert {step_id}: {_message(exc)}")
                log.error("fault_revert_failed", step=step_id, error=_message(exc))
            if repairs:
                self._repair(runner, step_id, repairs, outcome)
        for planned in plan.phase("rollback") if plan is not None else []:
            if runner.succeeded(planned.step_id):
                continue  # already run as a destructive fault's repair
            self._rollback_step(runner, planned, outcome)

    def _repair(self, runner: StepRunner, step_id: str, repairs: list[PlannedStep], outcome: _Outcome) -> None:
        """A destructive fault's repair steps (`reverted_by`) that have not succeeded yet, in order: the last one's
        success reverts the fault (its revert checked); if they had all succeeded already, the revert is checked."""
        for planned in repairs:
            if not runner.succeeded(planned.step_id) and not self._rollback_step(runner, planned, outcome):
                return  # the next repair steps assume this one worked: the fault stays pending, for `recover`
        if step_id in runner.active:
            try:
                runner.confirm_reverted(step_id, by="rollback")
            except Exception as exc:
                outcome.rollback_errors.append(f"revert {step_id}: {_message(exc)}")
                log.error("fault_revert_failed", step=step_id, error=_message(exc))

    def _rollback_step(self, runner: StepRunner, planned: PlannedStep, outcome: _Outcome) -> bool:
        try:
            runner.run_step(planned, "rollback")
        except Exception as exc:
            outcome.rollback_errors.append(f"step {planned.step_id}: {_message(exc)}")
            log.error("rollback_step_failed", step=planned.step_id, error=_message(exc))
            return False
        return True


def _repairs(plan: Plan | None, step_id: str) -> list[PlannedStep]:
    """The planned repair steps of a destructive fault step (`reverted_by`), in order; none for another fault."""
    if plan is None:
        return []
    step = plan.step(step_id).step
    return [plan.step(s) for s in step.repair_steps] if isinstance(step, m.FaultStep) else []


def _absolute(source: str) -> str:
    """`recover` may run from another folder: journal the runbook's absolute path when it is a file."""
    path = Path(source)
    return str(path.resolve()) if path.is_file() else source


def _breach_reason(watcher: Watcher) -> str | None:
    b = watcher.breached
    if b is None:
        return None
    return f"stop condition {b.name}: observed {b.observed!r}, expected {b.expected} (out for {b.for_s:g} s)"


def _window(runner: StepRunner, window: str) -> tuple[float | None, float | None]:
    """`run`, `steady` (before the first step), `during:<step>` (a fault: injected → reverted), `after:<step>`."""
    kind, _, step_id = window.partition(":")
    if kind == "run":
        return None, None
    if kind in ("steady", "baseline"):
        if runner.baseline is not None:
            return runner.baseline.since, runner.baseline.until
        first = min((t.started_at for t in runner.times.values()), default=None)
        return None, first
    if kind == "impact":
        for event in runner.impacts:
            if event.step_id == step_id:
                return event.injected_at, event.recovered_at
        return runner.clock(), runner.clock()  # not measured: an empty window
    times = runner.times.get(step_id)
    if times is None:
        return runner.clock(), runner.clock()  # the step never ran: an empty window, no availability
    if kind == "after":
        return times.finished_at or times.started_at, None
    fault = runner.active.get(step_id) or runner.reverted.get(step_id)
    if fault is not None:
        return fault.injected_at, fault.reverted_at
    return times.started_at, times.finished_at


AFTER_WAIT_S = 30.0  # how long verify waits for an open window's min_requests


def _open_window_stats(runner: StepRunner, load: LoadHandle, check: m.AvailabilityCheck | m.LatencyCheck,
                       since: float | None, until: float | None) -> LoadStats:
    """The window's statistics; an open one (`after:<step>`, ending now) is waited for until it holds the check's
    `min_requests`: judged at once after the last step, it could hold a fraction of a second and no request (the
    broadcast fallback's "availability after the return" read None once, with a busy core)."""
    stats = load.stats(since=since, until=until)
    if until is not None or stats.requests >= check.min_requests:
        return stats
    def sleep(seconds: float) -> None:  # woken early by an abort
        runner.abort.wait(seconds)

    retrying = Retrying(stop=stop_after_delay(AFTER_WAIT_S) | stop_when_event_set(runner.abort),
                        wait=wait_fixed(0.25), retry=retry_if_result(lambda s: s.requests < check.min_requests),
                        sleep=sleep, reraise=False)
    try:
        stats = retrying(lambda: load.stats(since=since, until=None))
    except RetryError as exc:
        stats = exc.last_attempt.result()
    return stats


def _window_metric(base: str, window: str) -> str:
    """`after_recovered_p95_ms`, `during_fire_availability`, `baseline_p95_ms`: the window first, the unit last."""
    kind, _, step_id = window.partition(":")
    if kind == "run":
        return base
    kind = "baseline" if kind == "steady" else kind
    return f"{kind}_{step_id}_{base}".replace("__", "_").replace("-", "_")


def _emit_window(bus: Bus, name: str, stats: LoadStats) -> None:
    if stats.since is None or stats.until is None:
        return
    bus.emit(WindowMeasured(name=name, since=stats.since, until=stats.until, requests=stats.requests,
                            availability=stats.availability, p50_ms=stats.percentile_ms(50),
                            p95_ms=stats.percentile_ms(95), p99_ms=stats.percentile_ms(99), rps=stats.rps,
                            by_class=dict(stats.by_class)))


def _span_of(stats: LoadStats) -> str:
    span = stats.duration_s
    return f"it lasted {span:.2f} s" if span is not None else "its span is unknown"


def _fmt_ms(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3g} ms"
