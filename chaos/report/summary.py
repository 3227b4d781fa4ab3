"""The journal, folded into the summary every report is drawn from (and summary.json itself).

The journal's lines are read back into the typed events the engine emitted (`chaos.events.from_record`), and
one loop folds them, switching on the event's type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaos import events as ev
from chaos.report.incident_figures import WHO, any_figure, incident_figures, slo_budget


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)


@dataclass
class _Fold:
    """What the summary collects from the events, in the order they came."""

    t0: float
    checks: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, dict[str, Any]] = field(default_factory=dict)
    steps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    breach: dict[str, Any] | None = None
    windows: list[dict[str, Any]] = field(default_factory=list)
    series: list[dict[str, Any]] = field(default_factory=list)
    series_step_s: float | None = None
    generators: dict[str, dict[str, Any]] = field(default_factory=dict)
    people: list[dict[str, Any]] = field(default_factory=list)  # a game day's answers and notes, in order

    def t(self, at: float) -> float:
        """A moment as seconds since the run started, to the millisecond."""
        return round(at - self.t0, 3)

    def add(self, e: ev.Event) -> None:
        """Fold one event in: its type says what it adds."""
        match e:
            case ev.CheckDone():
                self.checks.append({"name": e.name, "expected": e.expected, "observed": e.observed,
                                    "passed": e.passed, "phase": e.phase, "message": e.message, "metric": e.metric})
            case ev.MetricRecorded() if _number(e.value):
                self.metrics[e.name] = e.value
            case ev.FaultInjecting() | ev.FaultInjected():
                rec = e.record
                entry = self.faults.setdefault(rec.step_id, {
                    "step_id": rec.step_id, "fault": rec.fault, "destructive": rec.destructive,
                    "targets": [t.service or t.name for t in rec.targets],
                    "params": dict(rec.params), "injected_at": _iso(e.at), "injected_t_s": self.t(e.at),
                    "inject_duration_s": None, "reverted_at": None, "reverted_t_s": None, "reverted_by": None,
                    "revert_duration_s": None, "revert_error": None, "effect": None, "reverted_effect": None,
                    "impact": None,
                })
                if isinstance(e, ev.FaultInjected):
                    entry["inject_duration_s"] = round(e.duration_s, 3)
            case ev.FaultReverted() if e.step_id in self.faults:
                entry = self.faults[e.step_id]
                if e.ok:
                    entry.update(reverted_at=_iso(e.at), reverted_t_s=self.t(e.at), reverted_by=e.by,
                                 revert_duration_s=round(e.duration_s, 3), revert_error=None)
                else:
                    entry["revert_error"] = e.error
            case ev.StepStarted():
                self.steps[(e.phase, e.step_id)] = {
                    "step_id": e.step_id, "kind": e.step_kind, "phase": e.phase, "description": e.description,
                    "start_t_s": self.t(e.at), "duration_s": None, "ok": None, "error": None,
                }
            case ev.StepFinished() if (e.phase, e.step_id) in self.steps:
                self.steps[(e.phase, e.step_id)].update(duration_s=round(e.duration_s, 3), ok=e.ok, error=e.error)
            case ev.LoadSampled():
                self.timeline.append({"t_s": self.t(e.at), "requests": e.requests, "availability": e.availability,
                                      "p95_ms": e.p95_ms})
            case ev.FaultEffect() if e.step_id in self.faults:
                key = "effect" if e.phase == "injected" else "reverted_effect"
                self.faults[e.step_id][key] = {"verified": e.verified, "evidence": e.evidence or {},
                                               "t_s": self.t(e.at)}
            case ev.ImpactMeasured() if e.step_id in self.faults:
                self.faults[e.step_id]["impact"] = _impact(e, self.t0)
            case ev.WindowMeasured():
                self.windows.append(_window(e, self.t0))
            case ev.LoadStopped() if e.generators:
                self.generators = dict(e.generators)
            case ev.LoadSeries():
                self.series = [{**row, "t_s": round(e.origin + row["t"] - self.t0, 3)} for row in e.rows]
                self.series_step_s = e.step_s
            case ev.ManualAction():
                self.people.append({"t_s": self.t(e.at), "at": _iso(e.at), "step_id": e.step_id,
                                    "action": e.action, "role": e.role, "text": e.text, "by": e.by})
            case ev.FacilitatorAction():
                what = f"surprise {e.surprise}" if e.surprise else "the load"
                self.people.append({"t_s": self.t(e.at), "at": _iso(e.at), "step_id": None, "action": e.action,
                                    "role": e.role, "text": f"{what}: {e.error}" if e.error else what,
                                    "by": "page", "facilitator": True})
            case ev.GamedayNote():
                self.people.append({"t_s": self.t(e.at), "at": _iso(e.at), "step_id": None, "action": "note",
                                    "role": e.role, "text": e.text, "by": "page"})
            case ev.StopConditionBreached():
                self.breach = {"name": e.name, "expected": e.expected, "observed": e.observed, "for_s": e.for_s,
                               "t_s": self.t(e.at)}


def summarize(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The summary of a run from its journal's lines (`chaos.journal.read_journal`)."""
    return summarize_events(ev.from_records(records))


def summarize_events(events: Iterable[ev.Event]) -> dict[str, Any]:
    """The summary of a run from its events; a run with no `run_finished` (killed) is an `error`."""
    events = list(events)
    start = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    end = next((e for e in events if isinstance(e, ev.RunFinished)), None)
    t0 = start.at if start else (events[0].at if events else 0.0)
    last_at = events[-1].at if events else t0
    fold = _Fold(t0)
    for event in events:
        fold.add(event)

    if end is not None:
        verdict, exit_code, reason = end.verdict, end.exit_code, end.reason
    else:  # the process died: what the journal holds is all we know
        verdict, exit_code = "error", 4
        reason = "the run did not finish (killed?): `entchaos recover` reverts its faults"
    fold.metrics.setdefault("run_duration_s", round((end.at if end else last_at) - t0, 3))
    summary = {
        "runbook": start.runbook if start else "unknown",
        "verdict": verdict,
        "exit_code": exit_code,
        "reason": reason,
        "run_id": start.run_id if start else None,
        "project": start.project if start else None,
        "description": start.description if start else "",
        "started_at": _iso(t0),
        "finished_at": _iso(end.at) if end else None,
        "checks": fold.checks,
        "metrics": fold.metrics,
        "faults": list(fold.faults.values()),
        "steps": list(fold.steps.values()),
        "stop_condition": fold.breach,
        "timeline": fold.timeline,
        "series": fold.series,
        "series_step_s": fold.series_step_s,
        "windows": fold.windows,
        "baseline": next((w for w in reversed(fold.windows) if w["name"] == "baseline"), None),
    }
    if fold.people:  # a game day: what people did, for the review; timed from the first fault, as users felt it
        first = min((f["injected_t_s"] for f in fold.faults.values() if f.get("injected_t_s") is not None),
                    default=None)
        summary["people"] = [{**p, "after_first_fault_s": None if first is None or p["t_s"] < first
                              else round(p["t_s"] - first, 3)} for p in fold.people]
    figures = incident_figures(events)
    if any_figure(figures):  # detect, declare, mitigate, recover: by people and by automation
        summary["incident_figures"] = {who: figures[who] for who in WHO}
    if start is not None and start.slo and (budget := slo_budget(fold.series, fold.series_step_s or 1.0, start.slo)):
        summary["slo_budget"] = budget
    if fold.generators:  # a fleet's load: the figures above are their merged series; each one's own here
        summary["load_generators"] = fold.generators
    if start is not None and start.regression:  # what `entchaos compare` and the gate judge a later run by
        summary["regression"] = dict(start.regression)
    return summary


def _window(e: ev.WindowMeasured, t0: float) -> dict[str, Any]:
    """A window as the reports show it: times relative to the run start (`t0_s`, `t1_s`)."""
    return {"name": e.name, "requests": e.requests, "availability": e.availability, "p50_ms": e.p50_ms,
            "p95_ms": e.p95_ms, "p99_ms": e.p99_ms, "rps": e.rps, "by_class": e.by_class,
            "t0_s": _rel(e.since, t0), "t1_s": _rel(e.until, t0)}


def _impact(e: ev.ImpactMeasured, t0: float) -> dict[str, Any]:
    """A fault's impact as the reports show it: times relative to the run start."""
    return {
        "level": e.level, "hold_s": e.hold_s, "impact_window_s": e.impact_window_s,
        "impact_availability": e.impact_availability, "outage_s": e.outage_s, "failed_requests": e.failed_requests,
        "failed_journeys": e.failed_journeys, "recovered_p95_ratio": e.recovered_p95_ratio,
        "recovered": e.recovered_at is not None,
        "t0_s": _rel(e.injected_at, t0), "t1_s": _rel(e.recovered_at, t0),
        "outage_t0_s": _rel(e.outage_since, t0), "outage_t1_s": _rel(e.outage_until, t0),
    }
