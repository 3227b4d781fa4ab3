"""`entchaos compare`: a run judged against a baseline run by its runbook's regression tolerances."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaos.cli import main
from chaos.errors import InvalidInput
from chaos.gate.compare import compare_runs
from tests.fakes import FakeLoad, FakeWorld

DATA = Path(__file__).parent / "data"
TOLERANCES = """
regression:
  baseline_p95_ms: 30%
  lost_acked_writes: 0
  impact_availability: {by: 2%, worse: lower}
"""


def fire_run(root: Path, *, p95_ms: float = 50.0, lost: int = 0) -> Path:
    """The fake datacenter fire with regression tolerances, on a load of this p95 and these lost writes."""
    world = FakeWorld(root, load=FakeLoad(p95_ms=lambda values: p95_ms, lost_acked_writes=lost))
    text = (DATA / "datacenter-fire.yaml").read_text() + TOLERANCES
    result = world.engine(world.parse(text, str(DATA / "datacenter-fire.yaml"))).run()
    assert result.verdict == ("pass" if not lost else "fail")  # the runbook's own check: no write lost
    return Path(result.folder)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fire_run(tmp_path_factory.mktemp("baseline"))


def test_the_summary_keeps_the_runbook_tolerances_in_its_own_words(baseline: Path) -> None:
    summary = json.loads((baseline / "summary.json").read_text())
    assert summary["regression"] == {"baseline_p95_ms": "30%", "lost_acked_writes": 0.0,
                                     "impact_availability": {"by": "2%", "worse": "lower"}}


def test_a_run_as_good_as_the_baseline_passes(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    again = fire_run(tmp_path)
    result = compare_runs(baseline, again / "summary.json")
    assert result.ok and len(result.comparisons) == 3
    assert main(["compare", str(baseline), str(again)]) == 0
    assert "no regression (3 figures within tolerance)" in capsys.readouterr().out


def test_a_slower_run_that_loses_a_write_fails_with_both_values_and_the_tolerance(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worse = fire_run(tmp_path, p95_ms=80.0, lost=1)
    result = compare_runs(baseline, worse)
    assert {c.metric for c in result.regressions} == {"baseline_p95_ms", "lost_acked_writes"}
    assert main(["compare", str(baseline), str(worse)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSED  baseline_p95_ms: 50.0 ms -> 80.0 ms (+60.0 %), tolerance +30.0 %: worse than allowed" in out
    assert "REGRESSED  lost_acked_writes: 0 -> 1, tolerance +0: worse than allowed" in out
    assert "2 of 3 figures regressed" in out


def test_a_run_without_tolerances_or_a_missing_summary_is_invalid_input(baseline: Path, tmp_path: Path) -> None:
    plain = tmp_path / "summary.json"
    plain.write_text(json.dumps({"runbook": "x", "verdict": "pass", "metrics": {"rto_s": 1.0}}))
    with pytest.raises(InvalidInput, match="declares no regression tolerances"):
        compare_runs(baseline, plain)
    with pytest.raises(InvalidInput, match=r"no summary\.json"):
        compare_runs(baseline, tmp_path / "nowhere")
    assert main(["compare", str(baseline), str(tmp_path / "nowhere")]) == 2


def test_a_bad_tolerance_is_refused_when_the_runbook_is_loaded_with_its_line(tmp_path: Path) -> None:
    from chaos.errors import RunbookInvalid

    text = (DATA / "datacenter-fire.yaml").read_text() + "regression:\n  rto_s: twenty\n"
    line = text.count("\n", 0, text.index("rto_s: twenty")) + 1
    with pytest.raises(RunbookInvalid) as caught:
        FakeWorld(tmp_path).parse(text, "fire.yaml")
    assert f"fire.yaml:{line}: regression.rto_s: expected a percentage (`20%`) or an amount" in str(caught.value)


def _x_range(svg_text: str) -> str:
    """The time axis' last tick label of a timeline: equal on both timelines when they share their axes."""
    import re

    return re.findall(r'class="tick"[^>]*>([^<]+ s)<', svg_text)[-1]


def test_the_comparison_page_shows_both_runs_on_the_same_axes(
        baseline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    worse = fire_run(tmp_path, p95_ms=80.0, lost=1)
    data = json.loads((worse / "summary.json").read_text())
    data["metrics"]["run_duration_s"] = 3 * data["metrics"]["run_duration_s"] + 60  # a much longer run
    (worse / "summary.json").write_text(json.dumps(data))
    page = tmp_path / "compare.html"
    assert main(["compare", str(baseline), str(worse), "--html", str(page)]) == 1
    html = page.read_text()
    assert "2 figure(s) regressed beyond tolerance" in html and "REGRESSED" in html
    assert "+60.0 %" in html  # baseline_p95_ms 50 -> 80
    svgs = html.split("<svg")[1:]
    assert len(svgs) == 2
    assert _x_range(svgs[0]) == _x_range(svgs[1])  # one time axis for both...
    last_tick_s = float(_x_range(svgs[0]).removesuffix(" s"))
    assert last_tick_s >= 0.8 * data["metrics"]["run_duration_s"]  # ...long enough for the longer run


def test_the_comparison_page_needs_no_tolerance(baseline: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Protected against unprotected: two runs of a runbook without `regression:`, shown, not judged.
    plain = tmp_path / "run"
    plain.mkdir()
    summary = json.loads((baseline / "summary.json").read_text())
    summary.pop("regression", None)
    summary["metrics"]["rto_s"] = 99.0
    (plain / "summary.json").write_text(json.dumps(summary))
    page = tmp_path / "compare.html"
    assert main(["compare", str(baseline), str(plain), "--html", str(page)]) == 0
    assert "nothing judged" in capsys.readouterr().out
    assert "figures side by side" in page.read_text()
