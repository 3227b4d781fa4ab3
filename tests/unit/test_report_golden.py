"""The reports of a fixed journal are byte-for-byte the ones stored beside it (made by `tests/unit/report_cases.py`):
a change to the report code must not change a single character of summary.json, junit.xml, summary.md or
report.html unless it means to (then regenerate them and review the diff)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from chaos.report.writer import FILES, write_reports
from tests.unit.report_cases import CASES, GOLDEN


@pytest.mark.parametrize("case", sorted(CASES))
def test_reports_are_the_stored_ones(case: str, tmp_path: Path) -> None:
    stored = GOLDEN / case
    shutil.copy(stored / "journal.jsonl", tmp_path / "journal.jsonl")
    write_reports(tmp_path)
    for name in FILES:
        assert (tmp_path / name).read_text(encoding="utf-8") == (stored / name).read_text(encoding="utf-8"), \
            f"{case}/{name} differs"
