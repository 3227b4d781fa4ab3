"""CI-native output: GitHub annotations and job summary, the run's own log.jsonl, progress lines in the view."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from chaos import events as ev
from chaos.cli import main
from chaos.log import RUN_LOG_NAME, get_logger, run_log
from chaos.report import github
from chaos.report.console import ConsoleView
from tests.fakes import FakeWorld

DATA = Path(__file__).parent / "data"


def test_workflow_commands_are_escaped_so_a_message_cannot_start_one() -> None:
    assert github.error("a\nb 100%", file="runbooks/x.yaml", line=12, title="fire: p95, now") == \
        "::error file=runbooks/x.yaml,line=12,title=fire%3A p95%2C now::a%0Ab 100%25"
    assert github.error("plain") == "::error::plain"


def test_failed_checks_become_annotations_on_the_runbook_file() -> None:
    summary = {"runbook": "fire", "verdict": "fail", "checks": [
        {"name": "rto", "passed": False, "observed": 41.2, "expected": "<= 30", "metric": "rto_s"},
        {"name": "one primary", "passed": True, "observed": 1, "expected": "== 1"}]}
    assert github.check_annotations(summary, "runbooks/datacenter-fire.yaml") == [
        "::error file=runbooks/datacenter-fire.yaml,title=fire%3A rto::observed 41.2 s, expected <= 30"]
    aborted = github.check_annotations({"runbook": "fire", "verdict": "aborted", "reason": "users not served",
                                        "checks": []})
    assert aborted == ["::error title=fire%3A aborted::users not served"]


def test_an_invalid_runbook_gives_an_annotation_per_problem_with_its_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("metadata: {name: bad}\nsteps:\n  - id: fire\n    fault: no-such-fault\n    target: {role: app}\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    assert main(["validate", str(bad)]) == 2
    out = capsys.readouterr().out
    assert f"::error file={bad},line=4,title=invalid runbook::steps[0].fault: " in out
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert main(["validate", str(bad)]) == 2
    assert "::error" not in capsys.readouterr().out


def test_the_job_summary_is_appended_to_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "step_summary.md"
    target.write_text("# earlier step\n")
    assert github.append_step_summary("## fire: PASS", {"GITHUB_STEP_SUMMARY": str(target)})
    assert target.read_text() == "# earlier step\n## fire: PASS\n\n"
    assert not github.append_step_summary("x", {})


def test_a_run_keeps_its_structured_log_in_its_folder_with_secrets_masked(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    result = world.engine(world.load_file(DATA / "datacenter-fire.yaml")).run()
    lines = [json.loads(line) for line in (result.folder / RUN_LOG_NAME).read_text().splitlines()]
    assert lines[0]["event"] == "run_started" and {"level", "timestamp"} <= set(lines[0])
    assert any(line["event"] == "baseline_measured" for line in lines)
    with run_log(tmp_path / "other.jsonl"):
        get_logger("test").info("token_used", password="hunter2-long-secret")
    [line] = (tmp_path / "other.jsonl").read_text().splitlines()
    assert json.loads(line)["password"] == "***" and "hunter2" not in line
    get_logger("test").info("after_the_run")  # the run's log is closed: nothing more goes there
    assert len((tmp_path / "other.jsonl").read_text().splitlines()) == 1


def test_a_long_quiet_stretch_gets_a_progress_line_every_ten_seconds() -> None:
    out = io.StringIO()
    view = ConsoleView(out, progress_s=10)
    view(ev.PhaseStarted(at=1000.0, phase="steps"))
    view(ev.StepStarted(at=1001.0, phase="steps", step_id="rebuild", step_kind="playbook", description="rebuild"))
    for second in range(2, 35):  # one sample a second while the playbook runs
        view(ev.LoadSampled(at=1000.0 + second, requests=25, availability=0.98, p95_ms=31.0))
    progress = [line for line in out.getvalue().splitlines() if "…" in line]
    assert len(progress) == 3  # at +11, +21, +31 s
    assert progress[0].endswith("… steps / rebuild: availability now 98.0 %, p95 31.0 ms, 25 requests in the last "
                                "sample")
    assert "+  11.0s" in progress[0] and "+  21.0s" in progress[1]


def test_the_command_level_applies_even_when_a_module_configured_logging_first(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chaos import log as chaos_log

    get_logger("early")  # what an import that asks for a logger does: the defaults are set up
    saved = (chaos_log._route.stderr_level, chaos_log._route.format)
    try:
        chaos_log.configure("warning")  # what `entchaos run` asks for
        with run_log(tmp_path / RUN_LOG_NAME):
            get_logger("test").info("step_went_fine")
            get_logger("test").warning("something_to_see")
        err = capsys.readouterr().err
        assert "something_to_see" in err and "step_went_fine" not in err
        assert "{" not in err  # outside a terminal, during a run: a plain line, not JSON
        logged = (tmp_path / RUN_LOG_NAME).read_text()
        assert "step_went_fine" in logged and "something_to_see" in logged
    finally:
        chaos_log._route.stderr_level, chaos_log._route.format = saved
