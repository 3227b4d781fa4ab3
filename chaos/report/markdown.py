"""summary.md: the verdict and its figures, readable in a terminal, a PR comment or a CI summary."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from chaos.report.figures import MISSING, evidence, figure, moment, number, observed, seconds, sig3, tidy

MARK = {"pass": "PASS", "fail": "FAIL", "aborted": "ABORTED", "error": "ERROR"}


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else number(value) if isinstance(value, int | float) or value is None \
        else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _took(value: float | None) -> str:
    """A duration in a column headed `(s)`."""
    return MISSING if value is None else sig3(value)


def summary_md(summary: Mapping[str, Any]) -> str:
    """summary.md: verdict, figures, checks, impact, windows, faults, steps (and a game day's review)."""
    lines = [f"# {summary['runbook']}: {MARK.get(summary['verdict'], summary['verdict'])}", ""]
    if summary.get("description"):
        lines += [summary["description"], ""]
    if summary.get("started_at"):
        lines += [f"Started {moment(summary['started_at'])}, project {summary.get('project')}, "
                  f"exit code {summary.get('exit_code')}.", ""]
    if summary.get("reason"):
        lines += [f"**Why:** {tidy(summary['reason'])}", ""]
    lines += ["## Figures", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {_cell(figure(name, value))} |" for name, value in summary["metrics"].items()]
    lines += ["", "## Checks", "", "| check | expected | observed | result |", "|---|---|---|---|"]
    for c in summary["checks"]:
        lines.append(f"| {_cell(c['name'])} | {_cell(c['expected'])} | {_cell(observed(c))} | "
                     f"{'pass' if c['passed'] else 'FAIL'} |")
    lines += impact_section(summary)
    lines += windows_section(summary.get("windows") or [])
    if summary["faults"]:
        lines += ["", "## Faults", "", "| step | fault | targets | injected at | reverted at | by |",
                  "|---|---|---|---|---|---|"]
        for f in summary["faults"]:
            lines.append(f"| {f['step_id']} | {f['fault']} | {', '.join(f['targets'])} | "
                         f"{seconds(f['injected_t_s'])} | "
                         f"{seconds(f['reverted_t_s']) if f['reverted_t_s'] is not None else 'NOT REVERTED'} | "
                         f"{f['reverted_by'] or ''} |")
    lines += ["", "## Steps", "", "| phase | step | kind | start | took | result |"]
    lines += ["|---|---|---|---|---|---|"]
    for s in summary["steps"]:
        result = "ok" if s["ok"] else f"failed: {_cell(tidy(s['error']))}" if s["ok"] is False else "?"
        lines.append(f"| {s['phase']} | {s['step_id']} | {s['kind']} | {seconds(s['start_t_s'])} | "
                     f"{seconds(s['duration_s'])} | {result} |")
    lines += post_incident_review(summary)
    return "\n".join(lines) + "\n"


def _between(t0: float | None, t1: float | None) -> str:
    return f"{seconds(t0)} → {seconds(t1) if t1 is not None else 'the end'}"


def _effect(effect: Mapping[str, Any] | None) -> str:
    if effect is None:
        return "not checked"
    verdict = "verified" if effect.get("verified") else "NOT observed"
    return f"{verdict} at {seconds(effect.get('t_s'))} ({evidence(effect.get('evidence'))})"


def impact_lines(fault: Mapping[str, Any]) -> list[str]:
    """What one fault did to users, in a few lines (summary.md and the console's verdict)."""
    i = fault.get("impact")
    lines = []
    if i:
        recovered = (f"until availability held ≥ {figure('availability', i.get('level'))} for "
                     f"{seconds(i.get('hold_s'))}" if i.get("recovered") else "availability NEVER came back")
        lines += [
            f"impact window: {seconds(i.get('impact_window_s'))} ({_between(i.get('t0_s'), i.get('t1_s'))}), "
            f"{recovered}",
            f"served in it: {figure('impact_availability', i.get('impact_availability'))}",
            f"outage (< 50 % served): {seconds(i.get('outage_s'))}"
            + (f" ({_between(i.get('outage_t0_s'), i.get('outage_t1_s'))})" if i.get("outage_t0_s") is not None
               and i.get("outage_s") else ""),
            f"failed requests: {figure('failed_requests', i.get('failed_requests') or {'none': 0})}; "
            f"failed journeys: {figure('failed_journeys', i.get('failed_journeys') or {'none': 0})}",
            f"p95 after recovery: {figure('recovered_p95_ratio', i.get('recovered_p95_ratio'))} the baseline's",
        ]
    if fault.get("effect") is not None or fault.get("reverted_effect") is not None:
        lines.append(f"effect: {_effect(fault.get('effect'))}; after the revert: "
                     f"{_effect(fault.get('reverted_effect'))}")
    return lines


def impact_section(summary: Mapping[str, Any]) -> list[str]:
    """The `## Impact` section: one sub-section per fault with a measured impact or effect."""
    lines = []
    for f in summary["faults"]:
        body = impact_lines(f)
        if body:
            lines += ["", f"### {f['step_id']} ({f['fault']})", "", *(f"- {line}" for line in body)]
    return ["", "## Impact", *lines] if lines else []


def windows_section(windows: list[Mapping[str, Any]]) -> list[str]:
    """The `## Windows` table: each measured window and its figures."""
    if not windows:
        return []
    lines = ["", "## Windows", "", "| window | span | requests | availability | p50 | p95 | p99 | rate |",
             "|---|---|---|---|---|---|---|---|"]
    for w in windows:
        lines.append(f"| {w['name']} | {_between(w.get('t0_s'), w.get('t1_s'))} | "
                     f"{figure('requests', w.get('requests'))} | {figure('availability', w.get('availability'))} | "
                     f"{figure('p50_ms', w.get('p50_ms'))} | {figure('p95_ms', w.get('p95_ms'))} | "
                     f"{figure('p99_ms', w.get('p99_ms'))} | {number(w.get('rps'), 'req/s')} |")
    return lines


def post_incident_review(summary: Mapping[str, Any]) -> list[str]:
    """A game day's review, pre-filled from the journal: the incident as a timeline of what the toolkit and the
    people did, how long people took (by role), their notes; then the sections the team writes."""
    manual = [s for s in summary["steps"] if s["kind"] == "manual"]
    if not manual:
        return []
    people = summary.get("people") or []
    answers = {p["step_id"]: p for p in people if p["action"] != "note" and not p.get("facilitator")}
    lines = ["", "## Post-incident review", "", "### Timeline", ""]
    events = [(f["injected_t_s"], f"fault `{f['fault']}` injected ({', '.join(f['targets'])})")
              for f in summary["faults"]]
    for s in summary["steps"]:
        if s["phase"] != "steps" or s["kind"] == "fault" or s["duration_s"] is None:
            continue
        answer = answers.get(s["step_id"]) if s["kind"] == "manual" else None
        who = (answer.get("role") or "people") if s["kind"] == "manual" and answer else (
            "people" if s["kind"] == "manual" else "toolkit")
        outcome = ("skipped" if answer and answer["action"] == "skip" else "done") if s["ok"] else "NOT done"
        ended = round(s["start_t_s"] + s["duration_s"], 3)
        events.append((ended, f"{s['step_id']} {outcome} ({who}, {seconds(s['duration_s'])})"))
    events += [(p["t_s"], f"note from {p.get('role') or 'someone'}: {_cell(p['text'])}") for p in people
               if p["action"] == "note"]
    events += [(p["t_s"], f"the facilitator: {FACILITATED.get(p['action'], p['action'])} {_cell(p['text'])}")
               for p in people if p.get("facilitator")]
    lines += [f"- t+{t:.1f} s: {text}" for t, text in sorted(events)]
    lines += ["", "### What people did", "",
              "| step | role | instruction | took (s) | answered after the first fault (s) | result |",
              "|---|---|---|---|---|---|"]
    for s in manual:
        answer = answers.get(s["step_id"]) or {}
        result = {"skip": f"skipped: {_cell(answer.get('text', ''))}", "abort": "stopped the game day"}.get(
            answer.get("action", ""), "done" if s["ok"] else "not done in time")
        lines.append(f"| {s['step_id']} | {answer.get('role') or '-'} | {_cell(s.get('description', ''))} | "
                     f"{_took(s['duration_s'])} | {_took(answer.get('after_first_fault_s'))} | {result} |")
    lines += incident_figures_section(summary)
    notes = [p for p in people if p["action"] == "note"]
    if notes:
        lines += ["", "### Notes taken during the game day", ""]
        lines += [f"- t+{p['t_s']:.1f} s, {p.get('role') or 'someone'}: {_cell(p['text'])}" for p in notes]
    failed = [c for c in summary["checks"] if not c["passed"]]
    lines += ["", "### What to learn", ""]
    lines += [f"- {c['name']}: expected {c['expected']}, observed {_cell(observed(c))}" for c in failed] or [
        "- every check passed: keep the runbook, shorten the human steps next time"]
    lines += ["", "### What went well", "", "- (the team writes this)", "", "### What to change", "",
              "- (the team writes this)", "", "### Actions", "", "| action | owner | due |", "|---|---|---|",
              "| (the team writes this) | | |"]
    return lines


FACILITATED = {"inject": "injected", "end": "ended", "pause": "paused", "resume": "resumed"}
MILESTONE_NAMES = {"detect": "detect", "declare": "declare the incident", "mitigate": "mitigate",
                   "recover": "recover"}


def incident_figures_section(summary: Mapping[str, Any]) -> list[str]:
    """Time to detect, declare, mitigate, recover after the first fault, people beside automation; the SLO budget."""
    lines: list[str] = []
    figures = summary.get("incident_figures")
    if figures:
        lines += ["", "### Figures: people and automation (s after the incident's fault)", "",
                  "| time to | people | automation |", "|---|---|---|"]
        lines += [f"| {name} | {_took(figures['people'].get(key))} | {_took(figures['automation'].get(key))} |"
                  for key, name in MILESTONE_NAMES.items()]
    budget = summary.get("slo_budget")
    if budget:
        lines += ["", "### SLO budget", "",
                  f"SLO: {100 * budget['availability']:g} % of requests served over {budget['window_days']:g} days, "
                  f"an error budget of {_span(budget['budget_s'])} of outage. The game day left "
                  f"{budget['failed']} of {budget['requests']} requests unserved ({budget['rate_rps']:g} req/s): "
                  f"{_span(budget['spent_s'])} of outage, **{sig3(budget['spent_pct'])} % of the budget** "
                  "(the window's traffic taken at the game day's own rate)."]
    return lines


def _span(value: float) -> str:
    """A length of time in the unit that reads best: 43.2 min, not 2592 s."""
    if value >= 7200:
        return f"{sig3(value / 3600)} h"
    return f"{sig3(value / 60)} min" if value >= 120 else f"{sig3(value)} s"


def review_md(summary: Mapping[str, Any]) -> str | None:
    """review.md: the post-incident review alone, for a run with manual steps (None otherwise)."""
    review = post_incident_review(summary)
    if not review:
        return None
    head = [f"# Review: {summary.get('runbook', 'game day')} ({summary.get('started_at') or ''})", "",
            f"Verdict: {summary['verdict']}" + (f" ({tidy(summary.get('reason'))})" if summary.get("reason") else "")]
    return "\n".join(head + review[2:]) + "\n"


def gate_markdown(runs: Sequence[Mapping[str, Any]]) -> str:
    """The gate's summary.md: one row per runbook (verdict, time, why), then each failure's checks and the
    figures that regressed; every run's own summary.md sits in its folder."""
    failed = [r for r in runs if r["exit_code"]]
    head = "PASS" if not failed else "FAIL"
    lines = [f"# entchaos gate: {head} ({len(runs) - len(failed)} of {len(runs)} passed)", "",
             "| runbook | verdict | took (s) | why | report |", "|---|---|---|---|---|"]
    for r in runs:
        took = (r.get("metrics") or {}).get("run_duration_s")
        lines.append(f"| {_cell(r['runbook'])} | {MARK.get(r['verdict'], r['verdict'].upper())} | "
                     f"{_took(took if isinstance(took, int | float) else None)} | "
                     f"{_cell(tidy(r.get('reason')) if r['exit_code'] else '')} | {_cell(r.get('folder') or '')} |")
    for r in runs:
        if r.get("regressions"):
            lines += ["", f"## {r['runbook']}: regressed against the baseline", ""]
            lines += [f"- {m}" for m in r["regressions"]]
    return "\n".join(lines) + "\n"
