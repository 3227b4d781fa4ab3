"""`entchaos gate` on a real compose project (the small non-ENT one, so it takes seconds): a fresh stack once,
each runbook run on it, one junit.xml with a suite per runbook, the worst exit code; a failing runbook fails
the gate and the others still run. The full shipped gate (`make chaos-ci`) is timed by `make bench`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from tests.integration.conftest import TINY, tiny_runbook, unique_project

pytestmark = pytest.mark.docker

ENTCHAOS = [sys.executable, "-m", "chaos.cli"]


def test_the_gate_runs_every_runbook_on_one_stack_and_fails_with_the_worst(tmp_path):
    project = unique_project("entchaos-gate")
    books = []
    for name, bound in (("tiny-holds", 5), ("tiny-too-slow", 1), ("tiny-holds-again", 5)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(tiny_runbook(name, bound))
        books.append(str(path))
    out = tmp_path / "gate"
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(tmp_path / "reports")}
    try:
        done = subprocess.run([*ENTCHAOS, "gate", *books, "--project", project, "--out", str(out)], env=env,
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    finally:
        ComposeStack(project=project, compose_file=TINY).down()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gate: 2 of 3 runbook(s) passed (exit 1)" in done.stdout
    assert "FAIL      tiny-too-slow" in done.stdout and "rto_s: expected <= 1" in done.stdout
    suites = ET.parse(out / "junit.xml").getroot()
    assert [s.get("name") for s in suites] == ["entchaos.tiny-holds", "entchaos.tiny-too-slow",
                                               "entchaos.tiny-holds-again"]
    assert suites.get("failures") == "1"
    data = json.loads((out / "summary.json").read_text())
    assert [r["exit_code"] for r in data["runs"]] == [0, 1, 0]
    for run in data["runs"]:  # each run has its own full report under the gate's folder
        assert (out / run["runbook"]).is_dir() and str(out) in run["folder"]
        journal = Path(run["folder"], "journal.jsonl").read_text().splitlines()
        events = [json.loads(line)["event"] for line in journal]
        assert "fault_injected" in events and "fault_reverted" in events


def test_a_stack_worse_than_the_stored_baseline_fails_the_gate(tmp_path):
    # Every absolute bound holds (rto_s <= 10) both times; the second is 67 % worse than the baseline's, whose
    # runbook tolerates 20 %: the gate fails on the regression alone.
    project = unique_project("entchaos-gate")
    path = tmp_path / "tiny-drift.yaml"
    baseline = tmp_path / "baseline"
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(tmp_path / "reports")}

    def gate(value: int, *extra: str) -> subprocess.CompletedProcess[str]:
        path.write_text(tiny_runbook("tiny-drift", 10, value) + "regression: {rto_s: 20%}\n")
        return subprocess.run([*ENTCHAOS, "gate", str(path), "--project", project, "--out",
                               str(tmp_path / f"gate-{value}"), "--baseline", str(baseline), *extra],
                              env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)

    try:
        first = gate(3, "--update-baseline")
        second = gate(5)
    finally:
        ComposeStack(project=project, compose_file=TINY).down()
    assert first.returncode == 0, first.stdout + first.stderr
    assert json.loads((baseline / "tiny-drift.json").read_text())["metrics"]["rto_s"] == 3
    assert second.returncode == 1, second.stdout + second.stderr
    assert "REGRESSED tiny-drift" in second.stdout
    assert "rto_s: 3.00 s -> 5.00 s (+66.7 %), tolerance +20.0 %: worse than allowed" in second.stdout
    junit = ET.parse(tmp_path / "gate-5" / "junit.xml").getroot()
    failure = junit.find("testsuite/testcase[@name='regression: rto_s']/failure")
    assert failure is not None and "+66.7 %" in failure.get("message", "")
