"""A run SIGKILLed right after each of its faults, then `entchaos recover` with no argument: everything back.

Cheap real runs on the small non-ENT project (tests/integration/tiny): four faults stacked one on the other
(partition, packet-loss, pause, kill) with short waits between; the run is killed as soon as the journal shows
the step's `fault_injected`. `recover` is given no folder: it must find the run by itself (reports/latest already
points at it), revert every fault it left, newest first, and say there is nothing left the second time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from tests.integration import runbook_util
from tests.integration.conftest import TINY, compose_stack

pytestmark = pytest.mark.docker

ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
PAUSE = ("  - {{id: {id}, wait-for: constant, params: {{value: 0}}, until: {{eq: 1}}, timeout_s: 4, interval_s: 0.5,"
         " continue_on_failure: true}}\n")
FAULTS = (  # step id, fault, target, params: each stays while the next ones are injected
    ("cut", "partition", "{datacenter: east}", "{network: front}"),
    ("lossy", "packet-loss", "{datacenter: west}", "{percent: 30}"),
    ("frozen", "pause", "{datacenter: west}", "{}"),
    ("dead", "kill", "{datacenter: east}", "{}"),
)


def runbook_text() -> str:
    text = f"metadata: {{name: tiny-interrupts}}\nstack: {{compose_file: {TINY}}}\nsteps:\n"
    for step_id, fault, target, params in FAULTS:
        text += f"  - {{id: {step_id}, fault: {fault}, target: {target}, params: {params}}}\n"
        text += PAUSE.format(id=f"after-{step_id}")
    return text


@pytest.fixture(scope="module")
def tiny() -> Iterator[ComposeStack]:
    with compose_stack("entchaos-recover") as stack:
        yield stack


def wait_for_injected(reports: Path, step: str, proc: subprocess.Popen) -> Path:
    return runbook_util.wait_for_injected(reports, step, proc, deadline_s=180, interval_s=0.05)


def entchaos(*args: str, reports: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(reports)}
    return subprocess.run([*ENTCHAOS, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def netns_rules(container_id: str) -> str:
    return subprocess.run(
        ["docker", "run", "--rm", "--network", f"container:{container_id}", "--cap-add", "NET_ADMIN",
         "entchaos/nettools:latest", "sh", "-c", "iptables-save; tc qdisc show"],
        capture_output=True, text=True, check=True,
    ).stdout


@retry(stop=stop_after_delay(60), wait=wait_fixed(1), reraise=True)
def assert_tiny_whole(stack: ComposeStack) -> None:
    """Every container running (none paused, none stopped), web-east back on `front`, no rule in any namespace."""
    targets = {t.service: t for t in stack.targets()}
    assert set(targets) == {"web-east", "web-west", "shopper"}, set(targets)
    for t in targets.values():
        assert t.status == "running", f"{t.service}: {t.status}"
    assert any(n.endswith("_front") for n in targets["web-east"].networks), targets["web-east"].networks
    for service in ("web-east", "web-west"):
        rules = netns_rules(targets[service].id)
        assert "entchaos" not in rules and "tbf" not in rules and "netem" not in rules, f"{service}: {rules}"


def status(stack: ComposeStack, service: str) -> str:
    return stack.container_of(service).status


@pytest.mark.parametrize("step", [f[0] for f in FAULTS])
def test_sigkill_after_each_fault_then_recover_with_no_argument(tiny, step, tmp_path):
    runbook = tmp_path / "tiny-interrupts.yaml"
    runbook.write_text(runbook_text())
    reports = tmp_path / "reports"
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(reports)}
    proc = subprocess.Popen([*ENTCHAOS, "run", str(runbook), "--project", tiny.project], env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        folder = wait_for_injected(reports, step, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (reports / "latest").resolve() == folder.resolve(), "latest points at the run from its start"
    injected = [f for f in FAULTS][: [f[0] for f in FAULTS].index(step) + 1]
    if step == "frozen":
        assert status(tiny, "web-west") == "paused", "the pause was left behind"
    if step == "dead":
        assert status(tiny, "web-east") == "exited", "the kill was left behind"

    done = entchaos("recover", reports=reports)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"found {folder}" in done.stdout, done.stdout
    assert "killed (no end in its journal)" in done.stdout
    for step_id, fault, *_ in injected:
        assert f"{fault} (step {step_id}) on " in done.stdout, done.stdout
        assert f"reverted {fault} ({step_id}) of {folder}" in done.stdout, done.stdout
    order = [done.stdout.index(f"reverted {fault} ({step_id})") for step_id, fault, *_ in injected]
    assert order == sorted(order, reverse=True), "newest fault first"
    assert_tiny_whole(tiny)
    journal = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    assert {r["step_id"] for r in journal if r["event"] == "fault_reverted" and r["by"] == "recover"} == {
        s for s, *_ in injected}
    assert (folder / "summary.json").exists() and (folder / "report.html").exists()

    again = entchaos("recover", reports=reports)
    assert again.returncode == 0 and "nothing left to revert" in again.stdout, again.stdout + again.stderr


def test_recover_leaves_a_live_run_alone(tiny, tmp_path):
    """A run still alive holds its stack's lock: recover says so, touches nothing, exits 4."""
    runbook = tmp_path / "tiny-interrupts.yaml"
    runbook.write_text(runbook_text())
    reports = tmp_path / "reports"
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(reports)}
    proc = subprocess.Popen([*ENTCHAOS, "run", str(runbook), "--project", tiny.project], env=env, cwd=PROJECT_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_injected(reports, "cut", proc)
        done = entchaos("recover", reports=reports)
        alive = proc.poll() is None
        proc.send_signal(signal.SIGTERM)  # the run rolls back by itself
        assert proc.wait(timeout=120) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
    assert alive, "the run was still running while recover looked"
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"another run holds stack {tiny.project!r}" in done.stderr and "reverted" not in done.stdout, done.stderr
    assert_tiny_whole(tiny)
    again = entchaos("recover", reports=reports)
    assert again.returncode == 0 and "nothing left to revert" in again.stdout, again.stdout + again.stderr
