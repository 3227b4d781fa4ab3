"""Write every report of a run folder from its journal; as a bus listener, when the run finishes."""

from __future__ import annotations

import json
from pathlib import Path

from chaos.events import Event, RunFinished
from chaos.journal import JOURNAL_NAME, read_journal
from chaos.log import get_logger
from chaos.report.html import report_html
from chaos.report.junit import junit_xml
from chaos.report.markdown import review_md, summary_md
from chaos.report.summary import summarize

log = get_logger(__name__)

FILES = ("summary.json", "junit.xml", "summary.md", "report.html")


def write_reports(folder: str | Path) -> dict:
    """From `folder/journal.jsonl` only; works as well on the journal of a killed run."""
    folder = Path(folder)
    summary = summarize(read_journal(folder / JOURNAL_NAME))
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    (folder / "junit.xml").write_text(junit_xml(summary), encoding="utf-8")
    (folder / "summary.md").write_text(summary_md(summary), encoding="utf-8")
    (folder / "report.html").write_text(report_html(summary), encoding="utf-8")
    if (review := review_md(summary)) is not None:  # a game day: its review, to be completed by the team
        (folder / "review.md").write_text(review, encoding="utf-8")
    log.info("reports_written", folder=str(folder), verdict=summary["verdict"])
    return summary


class ReportWriter:
    """A bus listener: every report written from the journal when the run finishes."""
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            write_reports(self.folder)
