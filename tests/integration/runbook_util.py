"""Run the real runbooks (or variants of them) against a test stack, and check the stack is whole again."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import yaml
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from chaos.engine.result import CheckResult, RunResult
from chaos.launch import run, validate
from chaos.probes.edge import EdgeAPI
from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from chaos.stack.docker_api import docker_client

RUNBOOKS = PROJECT_ROOT / "runbooks"
CORE = {"edge", "fallback", "app-sbg-1", "app-sbg-2", "app-rbx-1", "app-rbx-2", "db-sbg", "db-rbx"}


def variant(name: str, tmp_path: Path, change: Callable[[dict], None]) -> Path:
    """A copy of runbooks/<name>.yaml changed by `change` (the protection switched off, the fault worse)."""
    data = copy.deepcopy(yaml.safe_load((RUNBOOKS / f"{name}.yaml").read_text()))
    change(data)
    path = tmp_path / f"{name}-variant.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def check(result: RunResult, name: str) -> CheckResult:
    """The named check of a run (a verification, or `step <id>` for a step that failed)."""
    return next(c for c in result.checks if c.name == name)


def run_runbook(path: Path, stack: ComposeStack, reports: Path) -> RunResult:
    return run(validate(path), stack, reports_dir=reports)


def primaries_inside(stack: ComposeStack) -> list[str]:
    """Read-write database nodes, asked inside each container (not through ports a fault may have cut)."""
    found = []
    for target in stack.targets():
        if target.role != "db" or target.status != "running":
            continue
        code, out = docker_client().containers.get(target.id).exec_run(
            ["psql", "-U", "postgres", "-qtAXc", "select pg_is_in_recovery()"]
        )
        if code == 0 and out.decode().strip() == "f":
            found.append(target.service)
    return found


@retry(stop=stop_after_delay(120), wait=wait_fixed(1), reraise=True)
def assert_whole(stack: ComposeStack) -> None:
    """As it was before the run: every service running and healthy, every replica up at the edge,
    one primary, its standby streaming, no fault left inside (no paused container, no netns rule)."""
    targets = {t.service: t for t in stack.targets()}
    assert set(targets) >= CORE, f"missing: {CORE - set(targets)}"
    for service in CORE:
        t = targets[service]
        assert t.status == "running" and t.health in (None, "healthy"), f"{service}: {t.status}/{t.health}"
    up = {s.server for s in EdgeAPI(*stack.edge_api()).servers() if s.is_up and not s.backup}
    assert up == {"app-sbg-1", "app-sbg-2", "app-rbx-1", "app-rbx-2"}, up
    primaries = primaries_inside(stack)
    assert len(primaries) == 1, primaries
    _code, out = docker_client().containers.get(targets[primaries[0]].id).exec_run(
        ["psql", "-U", "postgres", "-qtAXc", "select count(*) from pg_stat_replication where state = 'streaming'"]
    )
    assert out.decode().strip() == "1", "the standby streams from the primary"
    for service in CORE - {"edge", "fallback"}:
        rules = subprocess.run(
            ["docker", "run", "--rm", "--network", f"container:{targets[service].id}", "--cap-add", "NET_ADMIN",
             "entchaos/nettools:latest", "sh", "-c", "iptables-save; tc qdisc show"],
            capture_output=True, text=True, check=True,
        ).stdout
        assert "entchaos" not in rules and "tbf" not in rules and "netem" not in rules, f"{service}: {rules}"


class NotYet(Exception):
    pass


def wait_for_event(reports: Path, proc: subprocess.Popen, what: str, matches: Callable[[dict], bool], *,
                   deadline_s: float = 240, interval_s: float = 0.1) -> Path:
    """The run folder whose journal (under `reports`) holds an event `matches` accepts, while `proc` still runs."""

    @retry(retry=retry_if_exception_type(NotYet), stop=stop_after_delay(deadline_s), wait=wait_fixed(interval_s),
           reraise=True)
    def seen() -> Path:
        assert proc.poll() is None, f"the run ended (exit {proc.returncode}) before {what}"
        for journal in reports.glob("*/*/journal.jsonl"):
            for line in journal.read_text().splitlines():
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    continue  # the line being written
                if matches(event):
                    return journal.parent
        raise NotYet(what)

    return seen()


def wait_for_step(reports: Path, step: str, proc: subprocess.Popen) -> Path:
    return wait_for_event(reports, proc, f"step {step}",
                          lambda e: e.get("event") == "step_started" and e.get("step_id") == step, interval_s=0.2)


def wait_for_injected(reports: Path, step: str, proc: subprocess.Popen, *, deadline_s: float = 240,
                      interval_s: float = 0.1) -> Path:
    return wait_for_event(reports, proc, f"{step} was injected",
                          lambda e: e.get("event") == "fault_injected" and e["record"]["step_id"] == step,
                          deadline_s=deadline_s, interval_s=interval_s)
