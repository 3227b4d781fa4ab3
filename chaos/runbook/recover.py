"""`entchaos recover`: revert what a killed run left in the stack, from its journal alone.

Newest fault first, each revert appended to the same journal (so a second recover does nothing);
a destructive fault's rebuild step is read from the runbook the journal names, and run. Each revert is
checked (`Fault.check_reverted`, journaled as a `fault_effect`): a fault whose effect is still there is not
recovered, and stays pending for the next `recover`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from chaos.errors import ChaosError, FaultError
from chaos.events import Bus, Listener, PhaseStarted
from chaos.faults.base import FAULTS, Effect, Fault, FaultRecord
from chaos.faults.registry import Registry
from chaos.logging import get_logger
from chaos.report.writer import write_reports
from chaos.runbook.journal import JOURNAL_NAME, Journal, pending_faults, read_journal
from chaos.runbook.lock import StackLock
from chaos.runbook.plan import plan_step
from chaos.runbook.probe import PROBES, Probe
from chaos.runbook.stack import Stack
from chaos.runbook.steps import ActiveFault, NoPlaybooks, PlaybookRunner, StepRunner

log = get_logger(__name__)


@dataclass
class Recovery:
    reverted: list[FaultRecord] = field(default_factory=list)
    failed: list[tuple[FaultRecord, str]] = field(default_factory=list)
    effects: dict[str, Effect] = field(default_factory=dict)  # step id → the revert check (verified: effect gone)

    @property
    def ok(self) -> bool:
        return not self.failed


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
    folder = Path(run_folder)
    path = folder / JOURNAL_NAME if folder.is_dir() else folder
    records = read_journal(path)
    pending = pending_faults(records)
    result = Recovery()
    if not pending:
        log.info("nothing_to_recover", journal=str(path))
        return result
    lock = StackLock(state_dir, stack.project)
    lock.acquire(owner=f"recover {path}")
    journal = Journal(path)
    try:
        bus = Bus(journal, *listeners)
        bus.emit(PhaseStarted(phase="recover"))
        runner = StepRunner(stack, bus, threading.Event(), playbooks or NoPlaybooks())
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
        lock.release()
    if path.parent.is_dir():
        write_reports(path.parent)  # the reports now show the faults as reverted by recover
    return result


def _rebuild(
    runner: StepRunner,
    records: list[dict],
    record: FaultRecord,
    stack: Stack,
    faults: Registry[type[Fault]],
    probes: Registry[type[Probe]],
    known_playbooks: Collection[str] | None,
) -> None:
    from chaos.runbook.loader import load_runbook  # the loader pulls in the registries: only when needed

    start = next((r for r in records if r["event"] == "run_started"), None)
    if start is None or not Path(start["runbook_path"]).is_file():
        raise FaultError(
            f"{record.fault} ({record.step_id}) needs its rebuild step {record.reverted_by!r}, "
            "but the runbook it came from cannot be read",
            fix="rebuild by hand, e.g. `entchaos stack up`",
        )
    runbook = load_runbook(start["runbook_path"], faults=faults, probes=probes, playbooks=known_playbooks)
    try:
        step = runbook.step(record.reverted_by or "")
    except KeyError:
        where = start["runbook_path"]
        raise ChaosError(f"the runbook no longer has step {record.reverted_by!r}", where=where) from None
    runner.run_step(plan_step("rollback", step, stack, faults=faults, probes=probes), "rollback")
