from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("generate", ROOT / "fixtures/fallback/generate.py")
generate = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generate)


def test_site_has_the_schedule_by_level_and_one_page_per_lesson(tmp_path: Path):
    data = json.loads((ROOT / "fixtures/fallback/broadcast.json").read_text())
    generate.build(data, tmp_path)
    index = (tmp_path / "index.html").read_text()
    for level, slot in (("ecole", "morning"), ("college", "afternoon"), ("lycee", "from 16:00")):
        assert f"id='{level}'" in index
        section = next(lv for lv in data["levels"] if lv["level"] == level)
        assert section["slot"] == slot
    lessons = sum(len(lv["lessons"]) for lv in data["levels"])
    assert len(list((tmp_path / "lessons").glob("*.html"))) == lessons
    assert "16:00" in index and "Philosophie" in index

