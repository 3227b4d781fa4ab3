"""Where a run's results go: reports/<runbook>/<UTC timestamp>/, and reports/latest pointing at the newest."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


def new_run_folder(reports_dir: str | Path, runbook: str, now: datetime | None = None) -> Path:
    """A new, empty `reports_dir/<runbook>/<UTC stamp>/` (suffixed -1, -2 ... when taken)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = Path(reports_dir) / runbook
    base.mkdir(parents=True, exist_ok=True)
    for n in range(1000):  # two runs within one second (tests) get -1, -2 …
        folder = base / (stamp if n == 0 else f"{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(f"{base}: no free folder name for {stamp}")


def point_latest(reports_dir: str | Path, folder: Path) -> Path:
    """Swap the `latest` symlink atomically (relative, so the reports folder can move)."""
    reports_dir = Path(reports_dir)
    link = reports_dir / "latest"
    tmp = reports_dir / f".latest.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(folder, reports_dir))
    os.replace(tmp, link)
    return link


def run_folders(reports_dir: str | Path) -> list[Path]:
    """Every run folder under the reports dir (`<runbook>/<stamp>/` holding a journal), whatever its state:
    finished, aborted, or killed before its first report. `latest` and other links are not followed."""
    reports_dir = Path(reports_dir)
    if not reports_dir.is_dir():
        return []
    found = []
    for runbook in sorted(reports_dir.iterdir()):
        if runbook.is_symlink() or not runbook.is_dir() or runbook.name.startswith("."):
            continue
        for folder in sorted(runbook.iterdir()):
            if not folder.is_symlink() and (folder / "journal.jsonl").is_file():
                found.append(folder)
    return found
