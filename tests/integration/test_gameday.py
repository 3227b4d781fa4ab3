"""A game day for real: the morning of 6 April 2021 (runbooks/6-april-2021.yaml, built on the fire's game day)
waits for people at its manual steps, times them beside automation, writes the review with the SLO budget; and
unattended on the stack of 2021 its verdict is `fail`, for the flood nobody saw, its people's steps skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from chaos.stack.compose import PROJECT_ROOT
from chaos.stack.profiles import profile_env
from tests.integration.conftest import running_stack
from tests.integration.runbook_util import RUNBOOKS, assert_whole, run_runbook, wait_for_step

pytestmark = pytest.mark.docker

PEOPLE_TAKE_S = 3.0
MORNING = RUNBOOKS / "6-april-2021.yaml"


def test_the_morning_as_a_game_day_times_people_and_automation_and_writes_the_review(tmp_path):
    with running_stack() as stack:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaos.cli", "run", str(MORNING), "--gameday", "--project", stack.project],
            env={**os.environ, **stack.env, "ENTCHAOS_REPORTS_DIR": str(tmp_path)}, cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            for step in ("declare", "announce"):
                folder = wait_for_step(tmp_path, step, proc)
                time.sleep(PEOPLE_TAKE_S)  # the people, thinking
                proc.stdin.write("\n")
                proc.stdin.flush()
            assert proc.wait(timeout=600) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["verdict"] == "pass", summary["reason"]
        m = summary["metrics"]
        assert m["time_to_declare_s"] >= PEOPLE_TAKE_S and m["time_to_announce_s"] >= PEOPLE_TAKE_S
        assert m["attack_refused_ratio"] >= 0.95 and m["rush_served_ratio"] >= 0.99 and m["lost_acked_writes"] == 0
        figures = summary["incident_figures"]  # the fire's: from the fire, not from the flood of 8:00
        assert figures["automation"]["detect"] < figures["automation"]["mitigate"] < figures["automation"]["recover"]
        # rto_s counts from the fire step's start, the figure from the fire landing (its injection takes 1-2 s)
        assert 0 <= m["rto_s"] - figures["automation"]["recover"] < 3, (m["rto_s"], figures)
        assert figures["people"]["declare"] > figures["automation"]["detect"]  # declared after the fire's detection
        assert 0 < summary["slo_budget"]["spent_pct"] < 100, summary["slo_budget"]
        review = (folder / "review.md").read_text()
        assert "| declare | incident-commander |" in review and "| declare the incident |" in review
        assert "### SLO budget" in review and "fault `flood` injected" in review
        assert_whole(stack)


def test_the_morning_on_the_stack_of_2021_fails_for_the_flood_nobody_saw(tmp_path):
    with running_stack(**profile_env("unprotected")) as stack:
        result = run_runbook(MORNING, stack, tmp_path)  # nobody in the loop: the people's steps skipped
    assert result.verdict == "fail" and result.exit_code == 1, result.reason
    failed = {c.name for c in result.checks if not c.passed}
    assert {"step flood-detected", "attack_refused_ratio"} <= failed, failed
    assert result.metrics["attack_refused_ratio"] < 0.95
    journal = [json.loads(line) for line in result.journal.open()]
    assert [(e["step_id"], e["action"], e["by"]) for e in journal if e["event"] == "manual_action"] == [
        ("declare", "skip", "unattended"), ("announce", "skip", "unattended")]
