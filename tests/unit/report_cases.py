"""Fixed journals for the report golden test (`test_report_golden.py`): a passing and a failing fire, a killed run,
and an aborted game day with a manual step, a failed revert, a stop condition and no load series (an older journal).

Run `python -m tests.unit.report_cases` to write them (and the reports made from them) under
`tests/unit/data/golden/<case>/`: do it only when a report's format changes on purpose, and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from pathlib import Path

from chaos import events as ev
from tests.unit.fire_journal import END, T0, fire_events

GOLDEN = Path(__file__).parent / "data" / "golden"


def _lines(events: list[ev.Event]) -> str:
    return "".join(json.dumps(e.to_record(), default=str, separators=(",", ":")) + "\n" for e in events)


def fire_pass() -> str:
    return _lines(fire_events(passed=True))


def fire_fail() -> str:
    return _lines(fire_events(passed=False))


def killed() -> str:
    """The process died after the fire was injected: no revert, no end; its last line torn mid-write."""
    events = fire_events()
    cut = next(i for i, e in enumerate(events) if isinstance(e, ev.FaultEffect)) + 1
    return _lines(events[:cut]) + '{"event":"step_fin'


def gameday_aborted() -> str:
    """People late at a manual step, a revert that failed then succeeded, a stop condition, an impact never
    recovered, a metric with no value, an event kind this version does not know, and no load series."""
    out: list[ev.Event] = []
    for e in fire_events(passed=False):
        if isinstance(e, ev.LoadSeries | ev.RunFinished):
            continue
        if isinstance(e, ev.ImpactMeasured):
            e = dataclasses.replace(e, recovered_at=None, impact_window_s=None, recovered_p95_ratio=None)
        out.append(e)
        if isinstance(e, ev.StepFinished) and e.step_id == "failover":
            at = e.at + 0.5
            out += [
                ev.StepStarted(at=at, phase="steps", step_id="tell-people", step_kind="manual",
                               description="announce the TV broadcast | on the portal"),
                ev.ManualPrompt(at=at, step_id="tell-people", instruction="announce the TV broadcast",
                                timeout_s=5.0),
                ev.StepFinished(at=at + 5.0, phase="steps", step_id="tell-people", step_kind="manual",
                                started_at=at, duration_s=5.0001, ok=False, error="no answer in 5.000123 s"),
                ev.FaultReverted(at=at + 5.5, step_id="fire", fault="datacenter-fire", by="revert",
                                 duration_s=0.2, ok=False, error="docker: no such volume"),
                ev.MetricRecorded(at=at + 5.6, name="people_s", value=None),
            ]
    out += [
        ev.StopConditionBreached(at=T0 + END - 0.5, name="availability", expected=">= 0.5", observed=0.123456789,
                                 for_s=3.0),
        ev.RunInterrupted(at=T0 + END - 0.4, reason="stop condition availability breached: 0.123456789"),
        ev.RunFinished(at=T0 + END, verdict="aborted", exit_code=3, duration_s=END,
                       reason="stop condition availability breached: observed 0.123456789"),
    ]
    text = _lines(out)
    middle = text.index('{"event":"phase_started","at":' + json.dumps(T0 + 38.0))
    unknown = json.dumps({"event": "something_newer", "at": T0 + 37.9, "what": "a later version's event"},
                         separators=(",", ":")) + "\n"
    return text[:middle] + unknown + text[middle:]


CASES: dict[str, Callable[[], str]] = {
    "fire-pass": fire_pass, "fire-fail": fire_fail, "killed": killed, "gameday-aborted": gameday_aborted,
}


def write_case(name: str, folder: Path) -> dict:
    """The case's journal in `folder`, and every report written from it."""
    from chaos.report.writer import write_reports

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "journal.jsonl").write_text(CASES[name](), encoding="utf-8")
    return write_reports(folder)


if __name__ == "__main__":
    for case in sys.argv[1:] or CASES:
        write_case(case, GOLDEN / case)
        sys.stdout.write(f"wrote {GOLDEN / case}\n")
