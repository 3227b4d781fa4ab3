"""A game day for real: the runbook waits for people at its manual steps, times them, writes the review."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from chaos.stack.compose import PROJECT_ROOT
from tests.integration.conftest import running_stack
from tests.integration.runbook_util import RUNBOOKS, assert_whole, wait_for_step

pytestmark = pytest.mark.docker

PEOPLE_TAKE_S = 3.0


def test_gameday_times_the_people_and_writes_the_review(tmp_path):
    with running_stack() as stack:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaos.cli", "run", str(RUNBOOKS / "gameday-datacenter-fire.yaml"),
             "--gameday", "--project", stack.project],
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
        assert summary["verdict"] == "pass"
        assert summary["metrics"]["time_to_declare_s"] >= PEOPLE_TAKE_S
        assert summary["metrics"]["time_to_announce_s"] >= PEOPLE_TAKE_S
        review = (folder / "summary.md").read_text()
        assert "## Post-incident review" in review and "| declare |" in review
        assert_whole(stack)
