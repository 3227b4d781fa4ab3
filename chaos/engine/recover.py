"""`entchaos recover`: revert what killed runs left in the stack, from their journals alone.

`recover_all` looks at every run under the reports dir (every runbook, finished or killed at any moment,
even before its first report), takes each project's stack lock (a live run holds it: recovery says so and
leaves that project alone), and reverts every fault still pending, newest run first. `recover` does one run.

Newest fault first, each revert appended to the run's own journal (so a second recover does nothing);
a destructive fault's repair steps (`reverted_by`) are read from the runbook the journal names, and those the
journal does not show succeeded are run, in order. Each revert is
checked (`Fault.check_reverted`, journaled as a `fault_effect`): a fault whose effect is still there is not
recovered, and stays pending for the next `recover`. A project whose containers are all gone (`stack down`)
took its faults with it: those are journaled as reverted by `recover: stack removed`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from chaos.engine.lock import StackLock
from chaos.engine.plan import plan_step
from chaos.engine.steps import ActiveFault, NoPlaybooks, PlaybookRunner, StepRunner, StepTimes
from chaos.errors import ChaosError, EnvironmentProblem, FaultError, InvalidInput
from chaos.events import Bus, FaultReverted, Listener, PhaseStarted
from chaos.faults.base import FAULTS, Effect, Fault, FaultRecord
from chaos.journal import JOURNAL_NAME, Journal, RunView, pending_faults, read_journal, read_run
from chaos.log import get_logger
from chaos.model import runbook as m
from chaos.probes.base import PROBES, Probe
from chaos.registry import Registry
from chaos.report.folder import run_folders
from chaos.report.writer import write_reports
from chaos.stack.interface import Stack

log = get_logger(__name__)

STACK_REMOVED = "recover: stack removed"
S = TypeVar("S", bound=Stack)  # the kind of stack `stack_for` gives is the kind `playbooks_for` takes


@dataclass
class Recovery:
    """What recovering one run did: faults reverted, failed (with why), their revert checks, gone with the stack."""

    reverted: list[FaultRecord] = field(default_factory=list)
    failed: list[tuple[FaultRecord, str]] = field(default_factory=list)
    effects: dict[str, Effect] = field(default_factory=dict)  # step id → the revert check (verified: effect gone)
    gone: list[FaultRecord] = field(default_factory=list)  # went with a removed stack: nothing left to revert

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class RecoveryAll:
    """What `recover_all` found and did: runs with faults left (newest first), per run its `Recovery`,
    and the projects it left alone because a live run holds their lock."""

    found: list[RunView] = field(default_factory=list)
    recovered: dict[Path, Recovery] = field(default_factory=dict)
    busy: dict[str, str] = field(default_factory=dict)  # project → who holds it

    @property
    def ok(self) -> bool:
        return not self.busy and all(r.ok for r in self.recovered.values())


def find_pending(reports_dir: str | Path, project: str | None = None) -> list[RunView]:
    """Every run under `reports_dir` whose journal shows a fault not reverted, newest first."""
    runs = [read_run(folder) for folder in run_folders(reports_dir)]
    runs = [r for r in runs if r.pending and (project is None or r.project == project)]
    return sorted(runs, key=lambda r: (r.started_at or 0.0, r.folder.name), reverse=True)


def recover_all(
    reports_dir: str | Path,
    stack_for: Callable[[RunView], S],
    *,
    project: str | None = None,
    playbooks_for: Callable[[S], PlaybookRunner] | None = None,
    listeners: Collection[Listener] = (),
    state_dir: str | Path = ".entchaos",
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
    known_playbooks: Collection[str] | None = None,
    on_found: Callable[[RunView], None] | None = None,
) -> RecoveryAll:
    """Recover every run with faults left (of `project` only, when given): per project under its lock,
    newest run first. `stack_for` gives the stack a run ran against (its journal names the project)."""
    result = RecoveryAll(found=find_pending(reports_dir, project))
    projects: dict[str, list[RunView]] = {}
    for run in result.found:
        projects.setdefault(run.project or "", []).append(run)
    for name, runs in projects.items():
        stack = stack_for(runs[0])
        lock = StackLock(state_dir, stack.project)
        try:
            lock.acquire(owner=f"recover {reports_dir}")
        except EnvironmentProblem as exc:
            result.busy[stack.project] = exc.message
            log.warning("recover_skipped_live_run", project=stack.project, reason=exc.message)
            continue
        try:
            for run in runs:
                if on_found is not None:
                    on_found(run)
                result.recovered[run.folder] = _recover_locked(
                    run.journal, stack, playbooks=playbooks_for(stack) if playbooks_for else None,
                    listeners=listeners, faults=faults, probes=probes, known_playbooks=known_playbooks)
        finally:
            lock.release()
        log.info("recover_project_done", project=name)
    return result


def recover(
    run_folder: str | Path,
    stack: Stack,
    *,
    playbooks: PlaybookRunner | None = None,
    listeners: Collection[Listener] = (),
    state_dir: str | Path = ".entchaos",
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
    known_playbooks: Collection[str] | None = None,
) -> Recovery:
    """Recover one run (its folder, or its journal file)."""
    folder = Path(run_folder)
    path = folder / JOURNAL_NAME if folder.is_dir() else folder
    if not path.is_file():
        raise InvalidInput(f"no run journal at {path}", where=str(folder),
                           fix="give a run's report folder (reports/<runbook>/<time>), or none to find them all")
    if not pending_faults(path):
        log.info("nothing_to_recover", journal=str(path))
        return Recovery()
    lock = StackLock(state_dir, stack.project)
    lock.acquire(owner=f"recover {path}")
    try:
        return _recover_locked(path, stack, playbooks=playbooks, listeners=listeners, faults=faults, probes=probes,
                               known_playbooks=known_playbooks)
    finally:
        lock.release()


def _recover_locked(
    path: Path,
    stack: Stack,
    *,
    playbooks: PlaybookRunner | None,
    listeners: Collection[Listener],
    faults: Registry[type[Fault]],
    probes: Registry[type[Probe]],
    known_playbooks: Collection[str] | None,
) -> Recovery:
    records = read_journal(path)  # read again under the lock: the run may have rolled back meanwhile
    pending = pending_faults(records)
    result = Recovery()
    if not pending:
        log.info("nothing_to_recover", journal=str(path))
        return result
    journal = Journal(path)
    try:
        bus = Bus(journal, *listeners)
        bus.emit(PhaseStarted(phase="recover"))
        if _stack_removed(stack):
            for record in reversed(pending):
                bus.emit(FaultReverted(step_id=record.step_id, fault=record.fault, by=STACK_REMOVED, duration_s=0.0))
                result.gone.append(record)
            log.info("recover_stack_removed", project=stack.project, journal=str(path), faults=len(pending))
            return result
        runner = StepRunner(stack, bus, threading.Event(), playbooks or NoPlaybooks())
        _journaled_times(runner, records)  # a repair step the run finished is not run again
        for record in reversed(pending):
            try:
                runner.active[record.step_id] = ActiveFault(faults.get(record.fault)(record.params), record,
                                                            time.time())
                if record.reverted_by:  # reverted once its rebuild step succeeds, not before
                    runner.revert(record.step_id, by="recover", mark=False)
                    _rebuild(runner, records, record, stack, faults, probes, known_playbooks)
                else:
                    runner.revert(record.step_id, by="recover")
                result.reverted.append(record)
                effect = runner.effects.get((record.step_id, "reverted"))
                log.info("recover_effect_gone", step=record.step_id, fault=record.fault,
                         evidence=effect.evidence if effect else None)
            except Exception as exc:
                message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                result.failed.append((record, message))
                log.error("recover_failed", step=record.step_id, fault=record.fault, error=message)
            finally:
                if (record.step_id, "reverted") in runner.effects:
                    result.effects[record.step_id] = runner.effects[(record.step_id, "reverted")]
    finally:
        journal.close()
        if path.parent.is_dir():
            write_reports(path.parent)  # the reports now show the faults as reverted by recover
    return result


def _stack_removed(stack: Stack) -> bool:
    """No container of the project at all, running or not (the compose backend lists every one)."""
    targets = getattr(stack, "targets", None)
    if not callable(targets):
        return False  # a stack that cannot say: assume it is there
    try:
        return not targets()
    except ChaosError:
        return False


def _rebuild(
    runner: StepRunner,
    records: list[dict],
    record: FaultRecord,
    stack: Stack,
    faults: Registry[type[Fault]],
    probes: Registry[type[Probe]],
    known_playbooks: Collection[str] | None,
) -> None:
    """Run a destructive fault's repair steps (`reverted_by`) that the journal does not show succeeded, in order,
    from the runbook the journal names; the last one's success reverts the fault, else the revert is checked."""
    from chaos.model.loader import load_runbook  # the loader pulls in the registries: only when needed

    start = next((r for r in records if r["event"] == "run_started"), None)
    if start is None or not Path(start["runbook_path"]).is_file():
        raise FaultError(
            f"{record.fault} ({record.step_id}) needs its rebuild step {record.reverted_by!r}, "
            "but the runbook it came from cannot be read",
            fix="rebuild by hand, e.g. `entchaos stack up`",
        )
    runbook = load_runbook(start["runbook_path"], faults=faults, probes=probes, playbooks=known_playbooks)
    for step_id in _repair_steps(runbook, record):
        try:
            step = runbook.step(step_id)
        except KeyError:
            where = start["runbook_path"]
            raise ChaosError(f"the runbook no longer has step {step_id!r}", where=where) from None
        if not runner.succeeded(step_id):
            runner.run_step(plan_step("rollback", step, stack, faults=faults, probes=probes), "rollback")
    if record.step_id in runner.active:
        runner.confirm_reverted(record.step_id, by="recover")


def _repair_steps(runbook: m.Runbook, record: FaultRecord) -> tuple[str, ...]:
    """The fault step's `reverted_by` as the runbook says it now, if it still ends with the journaled one."""
    try:
        step = runbook.step(record.step_id)
    except KeyError:
        step = None
    repairs = step.repair_steps if isinstance(step, m.FaultStep) else ()
    return repairs if repairs and repairs[-1] == record.reverted_by else (record.reverted_by or "",)


def _journaled_times(runner: StepRunner, records: list[dict]) -> None:
    """What the run's steps did, from the journal: which succeeded (not run again), and when each started."""
    for r in records:
        if r.get("event") == "step_finished" and r.get("step_id"):
            started = float(r.get("started_at") or r.get("at") or 0.0)
            runner.times[r["step_id"]] = StepTimes(started, r.get("at"), bool(r.get("ok")))
