"""Under GitHub Actions (`GITHUB_ACTIONS=true`): failed checks and runbook errors as `::error` annotations on the
workflow's page, and a run's summary.md appended to the job summary (`$GITHUB_STEP_SUMMARY`).

Workflow commands are lines on stdout; their values are escaped as the runner expects (`%`, CR, LF, and in
properties `:` and `,`), so a message can never start a command of its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chaos.report.figures import observed, tidy


def active(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a GitHub Actions job."""
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def error(message: str, *, file: str | None = None, line: int | None = None, title: str | None = None) -> str:
    """One `::error` workflow command (file, line and title optional)."""
    props = [f"{name}={_property(str(value))}" for name, value in (("file", file), ("line", line), ("title", title))
             if value not in (None, "")]
    return f"::error {','.join(props)}::{_data(message)}" if props else f"::error::{_data(message)}"


def _relative(path: str) -> str:
    """A path as the workflow's annotations want it: relative to the workspace when inside it."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    try:
        return str(Path(path).resolve().relative_to(Path(workspace).resolve())) if workspace else path
    except ValueError:
        return path


def check_annotations(summary: Mapping[str, Any], runbook_path: str | None = None) -> list[str]:
    """An `::error` per failed check of a run (on the runbook's file), and one for a run that did not pass."""
    runbook = str(summary.get("runbook", "runbook"))
    file = _relative(runbook_path) if runbook_path else None
    lines = [error(f"observed {observed(c)}, expected {c.get('expected')}" + (f": {tidy(c['message'])}"
                                                                           if c.get("message") else ""),
                   file=file, title=f"{runbook}: {c.get('name')}")
             for c in summary.get("checks", []) if not c.get("passed")]
    if summary.get("verdict") not in ("pass", "fail"):  # aborted or error: say why, checks may not have run
        lines.append(error(tidy(str(summary.get("reason") or summary.get("verdict"))), file=file,
                           title=f"{runbook}: {summary.get('verdict')}"))
    return lines


def problem_annotations(problems: Iterable[Any]) -> list[str]:
    """An `::error file=…,line=…` per problem of an invalid runbook (`chaos.located.Problem`)."""
    return [error(f"{p.path or '<top>'}: {p.message}", file=_relative(p.file), line=p.line, title="invalid runbook")
            for p in problems]


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> bool:
    """Append to the job summary (`$GITHUB_STEP_SUMMARY`); False when there is none to append to."""
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as stream:
        stream.write(markdown.rstrip() + "\n\n")
    return True
