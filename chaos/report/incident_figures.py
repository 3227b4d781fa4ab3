"""A game day's figures for its review, read from the run's events: how long after the first fault the incident
was detected, declared, mitigated and recovered, by people and by automation separately; and how much of the
SLO's error budget the game day spent.

A step says what its end means with `milestone:` (detect, declare, mitigate, recover). A manual step that a person
answered `done` counts for people; any other step that succeeded counts for automation (so does a manual step
that nobody answered, its declared `unattended: done` fallback). Each is timed from the incident it answers: the
newest fault of the steps injected before it ended (a morning with a flood at 8:00 and a fire at 9:30 times the
fire's failover from the fire; a facilitator's surprise is not the incident). Without a `detect` step of their
own, people detected the incident when one of them first acknowledged anything after a fault. The first such end
counts; steps that ended before any fault, failed, or were skipped do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chaos import events as ev

WHO = ("people", "automation")


def incident_figures(events: Iterable[ev.Event]) -> dict[str, Any]:
    """`{"people": {milestone: s or None}, "automation": {...}, "first_fault_at": epoch or None}`."""
    figures: dict[str, Any] = {who: dict.fromkeys(ev.MILESTONES) for who in WHO}
    first: float | None = None
    newest: float | None = None  # the newest fault of the steps: the incident a milestone answers
    surprises: set[str] = set()
    answers: dict[str, ev.ManualAction] = {}
    first_ack: float | None = None
    for e in events:
        if isinstance(e, ev.StepStarted) and e.phase == "surprise":
            surprises.add(e.step_id)
        elif isinstance(e, ev.FaultInjected):
            first = first if first is not None else e.at
            if e.record.step_id not in surprises:
                newest = e.at
        elif isinstance(e, ev.ManualAction):
            answers[e.step_id] = e
            if newest is not None and first_ack is None and e.action == "done" and e.by != "unattended":
                first_ack = round(e.at - newest, 3)
        elif (isinstance(e, ev.StepFinished) and e.ok and e.milestone in ev.MILESTONES and e.phase == "steps"
              and newest is not None):
            who = _who(e, answers.get(e.step_id))
            if who is not None and figures[who][e.milestone] is None:
                figures[who][e.milestone] = round(e.at - newest, 3)
    if figures["people"]["detect"] is None:
        figures["people"]["detect"] = first_ack
    figures["first_fault_at"] = first
    return figures


def _who(step: ev.StepFinished, answer: ev.ManualAction | None) -> str | None:
    if step.step_kind != "manual":
        return "automation"
    if answer is None or answer.action != "done":
        return None  # skipped (by people or by the fallback): nothing was done
    return "automation" if answer.by == "unattended" else "people"


def any_figure(figures: dict[str, Any]) -> bool:
    return any(v is not None for who in WHO for v in figures[who].values())


def slo_budget(series: Sequence[Mapping[str, Any]], step_s: float, slo: Mapping[str, float]) -> dict[str, Any] | None:
    """The share of the SLO's error budget the run's unserved requests spent.

    The budget of an availability SLO over its window is (1 - target) of the requests of the window; the window's
    requests are taken at the run's own mean rate (the game day's traffic, as if it went on all window long). So
    the share spent is the same as that of the outage time: unserved requests / rate, against (1 - target) of the
    window. None when the run had no load."""
    sent = sum(int(r.get("sent") or 0) for r in series)
    if not series or sent <= 0 or step_s <= 0:
        return None
    failed = sum(int(r.get("sent") or 0) * (1.0 - r["availability"]) for r in series
                 if r.get("availability") is not None)
    rate = sent / (len(series) * step_s)
    target, window_s = float(slo["availability"]), float(slo["window_days"]) * 86400.0
    budget_s = (1.0 - target) * window_s
    spent_s = failed / rate
    return {"availability": target, "window_days": float(slo["window_days"]), "requests": sent,
            "failed": round(failed), "rate_rps": round(rate, 2), "budget_s": round(budget_s, 1),
            "spent_s": round(spent_s, 1), "spent_pct": round(100.0 * spent_s / budget_s, 3)}
