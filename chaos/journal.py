"""The append-only record of one run (JSON lines). Every report is made from it; `recover` reads it.

Durable events (a fault about to be applied, a fault reverted, the run's end) are fsynced before
the engine goes on, so a SIGKILL never loses track of a fault that may be in the stack. Secrets are
masked before a line is written.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.events import Event, FaultInjected, FaultInjecting, FaultReverted, RunFinished, RunStarted
from chaos.faults.base import FaultRecord
from chaos.log import get_logger, redact_value

log = get_logger(__name__)

JOURNAL_NAME = "journal.jsonl"


class Journal:
    """A bus listener that appends every event as one JSON line."""

    critical = True  # the bus re-raises its failures on durable events

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        self.append(event.to_record(), durable=event.durable)

    def append(self, record: Mapping[str, Any], *, durable: bool = False) -> None:
        """One line; secrets masked (`chaos.log.redact_value`), so no report made from it can show one."""
        line = json.dumps(redact_value(json.loads(json.dumps(record, default=str))), separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()

    def __repr__(self) -> str:
        return f"Journal({self.path})"


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Every record; a torn last line (the process died mid-write) is skipped, not an error."""
    path = Path(path)
    if path.is_dir():
        path = path / JOURNAL_NAME
    records = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                log.warning("journal_torn_line_skipped", path=str(path), line=number)
                continue
            raise
    return records


def pending_faults(journal: str | Path | Iterable[Mapping[str, Any]]) -> list[FaultRecord]:
    """Faults injected (or about to be) and not reverted, in injection order.

    The most complete record of each fault wins: the one `inject` returned, else the intent written before it.
    """
    return [p.record for p in pending_entries(journal)]


@dataclass(frozen=True)
class PendingFault:
    """A fault the journal shows as not reverted, and when it was injected (or about to be)."""

    record: FaultRecord
    at: float | None


def pending_entries(journal: str | Path | Iterable[Mapping[str, Any]]) -> list[PendingFault]:
    """`pending_faults` with the time of each injection (the first record of it: the intent)."""
    records = read_journal(journal) if isinstance(journal, str | Path) else list(journal)
    pending: dict[str, PendingFault] = {}
    for record in records:
        kind = record.get("event")
        if kind in (FaultInjecting.kind, FaultInjected.kind):
            fault = FaultRecord.from_dict(record["record"])
            first = pending.get(fault.step_id)
            at = first.at if first is not None else _float(record.get("at"))
            pending.pop(fault.step_id, None)  # re-inserted: the order is the order of injection
            pending[fault.step_id] = PendingFault(fault, at)
        elif kind == FaultReverted.kind and record.get("ok", True):
            pending.pop(record["step_id"], None)
    return list(pending.values())


@dataclass(frozen=True)
class RunView:
    """What a run's journal says about it, as far as recovery goes (a run killed at any moment included)."""

    folder: Path
    runbook: str | None = None
    runbook_path: str | None = None
    project: str | None = None
    started_at: float | None = None
    finished: bool = False
    pending: list[PendingFault] = field(default_factory=list)

    @property
    def journal(self) -> Path:
        return self.folder / JOURNAL_NAME


def read_run(folder: str | Path) -> RunView:
    """The run in `folder` (its journal.jsonl); an empty or unreadable journal is a run with nothing pending."""
    folder = Path(folder)
    path = folder / JOURNAL_NAME
    if not path.is_file():
        return RunView(folder)
    try:
        records = read_journal(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("journal_unreadable", path=str(path), error=str(exc))
        return RunView(folder)
    start = next((r for r in records if r.get("event") == RunStarted.kind), {})
    return RunView(
        folder=folder,
        runbook=start.get("runbook"),
        runbook_path=start.get("runbook_path"),
        project=start.get("project"),
        started_at=_float(start.get("at")),
        finished=any(r.get("event") == RunFinished.kind for r in records),
        pending=pending_entries(records),
    )


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None
