"""Reports: made from the journal only, in the folder layout and formats DESIGN.md promises."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from chaos.engine.result import RunResult
from chaos.report.console import ConsoleView
from chaos.report.writer import FILES, write_reports
from tests.fakes import FakeLoad, FakeWorld

DATA = Path(__file__).parent / "data"


@pytest.fixture
def world(tmp_path: Path) -> FakeWorld:
    world = FakeWorld(tmp_path)
    stack = world.stack
    world.load = FakeLoad(stack, availability=lambda values: 1.0 if values.get("up") else 0.6,
                          p95_ms=lambda values: 40.0 if values.get("up") else 400.0)
    return world


# The outage lasts 0.3 s (a slow step before the failover), so the load sees it.
SLOW = "  - id: slow\n    playbook: slow\n    extravars: {seconds: 0.3}\n  - id: failover\n"


def run_fire(world: FakeWorld, text: str | None = None, console: io.StringIO | None = None) -> RunResult:
    text = (text or (DATA / "datacenter-fire.yaml").read_text()).replace("  - id: failover\n", SLOW)
    runbook = world.parse(text, "datacenter-fire.yaml")
    listeners = [ConsoleView(console)] if console is not None else []
    return world.engine(runbook, listeners=listeners).run()


def test_a_passing_run_leaves_every_file(world: FakeWorld) -> None:
    result = run_fire(world)
    assert result.verdict == "pass"
    folder = result.folder
    assert folder.parent == world.root / "reports" / "fake-datacenter-fire"
    assert re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", folder.name)
    assert {p.name for p in folder.iterdir()} >= {"journal.jsonl", *FILES}
    assert (world.root / "reports" / "latest").is_symlink()

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["runbook"] == "fake-datacenter-fire" and summary["verdict"] == "pass"
    assert all({"name", "expected", "observed", "passed"} <= set(c) for c in summary["checks"])
    assert all(isinstance(v, int | float) for v in summary["metrics"].values())
    assert {"ttd_s", "rto_s", "lost_acked_writes", "during_fire_availability", "p95_ms"} <= set(summary["metrics"])
    (fault,) = summary["faults"]
    assert fault["fault"] == "fake-fire" and fault["injected_at"] and fault["reverted_at"]
    assert fault["reverted_by"] == "rebuild"
    assert summary["timeline"], "the load was sampled"

    suite = ET.parse(folder / "junit.xml").getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "0"
    assert int(suite.get("tests", "0")) == len(summary["checks"]) == len(suite.findall("testcase"))

    html = (folder / "report.html").read_text()
    assert "<svg" in html and "<style>" in html and 'class="fault"' in html
    svg = ET.fromstring(html[html.index("<svg"): html.index("</svg>") + 6])  # well-formed
    lines = {p.get("class") for p in svg.iter("{http://www.w3.org/2000/svg}polyline")}
    assert "availability" in lines and "lat p95" in lines
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "one self-contained file"
    assert (folder / "summary.md").read_text().startswith("# fake-datacenter-fire: PASS")


def test_failures_carry_expected_and_observed(world: FakeWorld) -> None:
    text = (DATA / "datacenter-fire.yaml").read_text().replace("{gte: 0.5}\n    window: during:fire",
                                                                "{gte: 0.99}\n    window: during:fire")
    result = run_fire(world, text)
    assert result.verdict == "fail"
    suite = ET.parse(result.folder / "junit.xml").getroot()
    assert suite.get("failures") == "1"
    (failure,) = suite.iter("failure")
    assert re.fullmatch(r"expected >= 0\.99, observed (0\.\d{1,3}|\d{1,2}(\.\d)? %)", failure.get("message", ""))
    summary = json.loads((result.folder / "summary.json").read_text())
    assert summary["metrics"]["during_fire_availability"] < 0.99
    assert [c["passed"] for c in summary["checks"] if c["name"].startswith("during_fire_availability")] == [False]


def test_reports_rebuilt_from_the_journal_alone(world: FakeWorld) -> None:
    result = run_fire(world)
    before = json.loads((result.folder / "summary.json").read_text())
    for name in FILES:
        (result.folder / name).unlink()
    assert write_reports(result.folder) == before


def test_a_killed_runs_journal_still_reports_error(world: FakeWorld) -> None:
    result = run_fire(world)
    journal = result.journal
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join(line for line in lines if '"run_finished"' not in line) + "\n")
    summary = write_reports(result.folder)
    assert summary["verdict"] == "error" and "recover" in summary["reason"]
    suite = ET.parse(result.folder / "junit.xml").getroot()
    assert suite.get("errors") == "1"


def test_console_view_one_line_per_event(world: FakeWorld) -> None:
    out = io.StringIO()
    run_fire(world, console=out)
    text = out.getvalue()
    assert "▶ fire (fault): fake-fire on sbg-app-1, sbg-app-2, sbg-db" in text
    assert "↺ fake-fire (fire) reverted by rebuild" in text
    assert ">>> PEOPLE: Tell the schools that lessons go on TV" in text
    assert re.search(r"\+ *[0-9.]+s verdict PASS \(exit 0\) after [0-9.]+ s$", text.rstrip().splitlines()[-1])
