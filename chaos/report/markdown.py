"""summary.md: the verdict and its figures, readable in a terminal, a PR comment or a CI summary."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MARK = {"pass": "PASS", "fail": "FAIL", "aborted": "ABORTED", "error": "ERROR"}


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def summary_md(summary: Mapping[str, Any]) -> str:
    lines = [f"# {summary['runbook']}: {MARK.get(summary['verdict'], summary['verdict'])}", ""]
    if summary.get("description"):
        lines += [summary["description"], ""]
    if summary.get("reason"):
        lines += [f"**Why:** {summary['reason']}", ""]
    lines += ["## Figures", "", "| metric | value |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in summary["metrics"].items()]
    lines += ["", "## Checks", "", "| check | expected | observed | result |", "|---|---|---|---|"]
    for c in summary["checks"]:
        lines.append(f"| {_cell(c['name'])} | {_cell(c['expected'])} | {_cell(c['observed'])} | "
                     f"{'pass' if c['passed'] else 'FAIL'} |")
    if summary["faults"]:
        lines += ["", "## Faults", "", "| step | fault | targets | injected (s) | reverted (s) | by |",
                  "|---|---|---|---|---|---|"]
        for f in summary["faults"]:
            lines.append(f"| {f['step_id']} | {f['fault']} | {', '.join(f['targets'])} | {f['injected_t_s']} | "
                         f"{_cell(f['reverted_t_s']) if f['reverted_t_s'] is not None else 'NOT REVERTED'} | "
                         f"{f['reverted_by'] or ''} |")
    lines += ["", "## Steps", "", "| phase | step | kind | start (s) | took (s) | result |"]
    lines += ["|---|---|---|---|---|---|"]
    for s in summary["steps"]:
        result = "ok" if s["ok"] else f"failed: {_cell(s['error'])}" if s["ok"] is False else "?"
        lines.append(f"| {s['phase']} | {s['step_id']} | {s['kind']} | {s['start_t_s']} | {s['duration_s']} | "
                     f"{result} |")
    lines += post_incident_review(summary)
    return "\n".join(lines) + "\n"


def post_incident_review(summary: Mapping[str, Any]) -> list[str]:
    """A game day's review: the incident as a timeline, what people did and how long they took."""
    manual = [s for s in summary["steps"] if s["kind"] == "manual"]
    if not manual:
        return []
    lines = ["", "## Post-incident review", "", "### Timeline", ""]
    events = [(f["injected_t_s"], f"fault `{f['fault']}` injected ({', '.join(f['targets'])})")
              for f in summary["faults"]]
    for s in summary["steps"]:
        if s["phase"] != "steps" or s["kind"] == "fault" or s["duration_s"] is None:
            continue
        who = "people" if s["kind"] == "manual" else "toolkit"
        outcome = "done" if s["ok"] else "NOT done"
        ended = round(s["start_t_s"] + s["duration_s"], 3)
        events.append((ended, f"{s['step_id']} {outcome} ({who}, {s['duration_s']} s)"))
    lines += [f"- t+{t:.1f} s: {text}" for t, text in sorted(events)]
    lines += ["", "### What people did", "", "| step | instruction | took (s) | result |", "|---|---|---|---|"]
    for s in manual:
        lines.append(f"| {s['step_id']} | {_cell(s.get('description', ''))} | {s['duration_s']} | "
                     f"{'done' if s['ok'] else 'not done in time'} |")
    failed = [c for c in summary["checks"] if not c["passed"]]
    lines += ["", "### What to learn", ""]
    lines += [f"- {c['name']}: expected {c['expected']}, observed {_cell(c['observed'])}" for c in failed] or [
        "- every check passed: keep the runbook, shorten the human steps next time"]
    return lines
