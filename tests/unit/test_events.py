"""A journal line reads back into the typed event that wrote it; the bus logs a listener's failure and goes on."""

from __future__ import annotations

import json

from chaos import events as ev
from chaos.faults.base import FaultRecord
from tests.unit.fire_journal import fire_events


def _line(event: ev.Event) -> dict:
    """As the journal writes it, and `read_journal` reads it."""
    return json.loads(json.dumps(event.to_record(), default=str))


def test_every_event_of_a_run_reads_back_as_itself() -> None:
    events = fire_events()
    assert ev.from_records(_line(e) for e in events) == events
    injected = next(e for e in ev.from_records(map(_line, events)) if isinstance(e, ev.FaultInjected))
    assert isinstance(injected.record, FaultRecord) and injected.record.targets[0].service == "sbg-app-1"


def test_every_event_kind_is_known_by_its_name() -> None:
    assert ev.EVENT_TYPES["fault_injecting"] is ev.FaultInjecting
    assert all(cls.kind == kind for kind, cls in ev.EVENT_TYPES.items())
    assert "event" not in ev.EVENT_TYPES


def test_an_unknown_kind_or_a_line_missing_a_field_is_skipped() -> None:
    assert ev.from_record({"event": "from_a_later_version", "at": 1.0}) is None
    assert ev.from_record({"event": "step_started", "at": 1.0, "phase": "steps"}) is None
    assert ev.from_record({"at": 1.0}) is None
    finished = ev.from_record({"event": "run_finished", "at": 2.0, "verdict": "pass", "exit_code": 0, "new": 1})
    assert finished == ev.RunFinished(at=2.0, verdict="pass", exit_code=0)  # unknown fields ignored, defaults kept


def test_a_failing_listener_is_logged_and_the_others_still_hear() -> None:
    heard: list[ev.Event] = []

    def broken(event: ev.Event) -> None:
        raise RuntimeError("boom")

    event = ev.RunInterrupted(reason="x")
    ev.Bus(broken, heard.append).emit(event)
    assert heard == [event]
