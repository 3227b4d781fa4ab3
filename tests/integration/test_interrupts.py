"""A run killed at any step leaves the stack as it was: SIGTERM rolls back; after SIGKILL, `entchaos recover`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from tests.integration.conftest import running_stack
from tests.integration.runbook_util import RUNBOOKS, assert_whole, variant, wait_for_injected, wait_for_step

pytestmark = pytest.mark.docker

ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
FIRE = RUNBOOKS / "datacenter-fire.yaml"
STEPS = ("fire", "detect", "failover", "writes-accepted", "recovered", "rebuild")


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack


def start_run(stack: ComposeStack, reports: Path, runbook: Path = FIRE) -> subprocess.Popen:
    env = {**os.environ, **stack.env, "ENTCHAOS_REPORTS_DIR": str(reports)}
    return subprocess.Popen(
        [*ENTCHAOS, "run", str(runbook), "--project", stack.project],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("step", STEPS)
def test_sigterm_at_each_step_leaves_the_stack_as_it_was(stack, step, tmp_path):
    proc = start_run(stack, tmp_path)
    try:
        wait_for_step(tmp_path, step, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=600) == 3, "aborted"
    finally:
        if proc.poll() is None:
            proc.kill()
    assert_whole(stack)


def test_recover_mends_a_sigkilled_run(stack, tmp_path):
    proc = start_run(stack, tmp_path)
    folder = wait_for_step(tmp_path, "detect", proc)  # sbg has burned
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not any(t.datacenter == "sbg" for t in stack.targets()), "the fire was left behind"
    env = {**os.environ, **stack.env}
    done = subprocess.run([*ENTCHAOS, "recover", str(folder), "--project", stack.project], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "reverted datacenter-fire" in done.stdout
    assert_whole(stack)
    again = subprocess.run([*ENTCHAOS, "recover", str(folder), "--project", stack.project], env=env,
                           cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "nothing left to revert" in again.stdout


def no_latency_bounds(data: dict) -> None:
    """What is tested here is the recovery: a machine loaded by others must not fail the steady state first."""
    data["hypothesis"]["probes"] = [p for p in data["hypothesis"]["probes"] if p["probe"] != "load-latency"]


def test_recover_with_no_argument_finds_the_run_killed_after_the_fire(stack, tmp_path):
    """The issue's scenario: `make chaos-datacenter-fire` SIGKILLed right after the fire, a finished run before it,
    then `make chaos-recover` (no folder): it must find the killed run, rebuild sbg, and find nothing next time."""
    (tmp_path / "runbook").mkdir()
    runbook = variant("datacenter-fire", tmp_path / "runbook", no_latency_bounds)
    tmp_path = tmp_path / "reports"
    earlier = tmp_path / "datacenter-fire" / "20210406T090200Z"  # a finished run, where `latest` used to stay
    earlier.mkdir(parents=True)
    (earlier / "journal.jsonl").write_text(
        json.dumps({"event": "run_started", "at": 1617699720.0, "run_id": "x", "runbook": "datacenter-fire",
                    "runbook_path": str(RUNBOOKS / "datacenter-fire.yaml"), "project": stack.project,
                    "folder": str(earlier)}) + "\n"
        + json.dumps({"event": "run_finished", "at": 1617699800.0, "verdict": "pass", "exit_code": 0}) + "\n")
    (tmp_path / "latest").symlink_to("datacenter-fire/20210406T090200Z")
    proc = start_run(stack, tmp_path, runbook)
    try:
        folder = wait_for_injected(tmp_path, "fire", proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (tmp_path / "latest").resolve() == folder.resolve()
    assert not any(t.datacenter == "sbg" for t in stack.targets()), "the fire was left behind"
    env = {**os.environ, **stack.env, "ENTCHAOS_REPORTS_DIR": str(tmp_path)}
    done = subprocess.run([*ENTCHAOS, "recover"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"found {folder}" in done.stdout and "datacenter-fire (step fire) on " in done.stdout, done.stdout
    assert f"reverted datacenter-fire (fire) of {folder}" in done.stdout, done.stdout
    assert str(earlier) not in done.stdout
    assert_whole(stack)
    again = subprocess.run([*ENTCHAOS, "recover"], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "nothing left to revert" in again.stdout, again.stdout + again.stderr
