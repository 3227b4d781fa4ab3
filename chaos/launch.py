"""The runbook commands on a real compose stack: validate, plan, run, recover.

This is where the engine meets its real parts: the compose stack, the load generator, ansible-runner,
the console view and, on a game day, the people at the console.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chaos.engine.engine import Engine
from chaos.engine.plan import Plan, make_plan
from chaos.engine.recover import Recovery, recover
from chaos.engine.result import RunResult
from chaos.gameday.operator import ConsoleOperator, Unattended
from chaos.load.handle import load_factory
from chaos.model import runbook as m
from chaos.model.loader import load_runbook
from chaos.remediation.runner import AnsiblePlaybooks, available
from chaos.report.console import ConsoleView
from chaos.stack.compose import PROJECT_ROOT, ComposeStack

REPORTS_DIR = Path(os.environ.get("ENTCHAOS_REPORTS_DIR", PROJECT_ROOT / "reports"))
STATE_DIR = PROJECT_ROOT / ".entchaos"


def validate(path: str | Path) -> m.Runbook:
    """The typed runbook of `path`, checked against the faults, probes and playbooks this toolkit has."""
    return load_runbook(path, playbooks=available())


def stack_for(runbook: m.Runbook, project: str | None = None, compose_file: str | None = None) -> ComposeStack:
    """Command-line options first, then the runbook's `stack:`, then the environment's defaults."""
    spec = runbook.stack
    file = compose_file or (spec.compose_file if spec else None)
    if file and spec and spec.compose_file and not compose_file and runbook.source:
        file = str((Path(runbook.source).parent / file).resolve())
    return ComposeStack.from_env(project or (spec.project if spec else None), file)


def plan(runbook: m.Runbook, stack: ComposeStack) -> Plan:
    """What will be hit, resolved on the running stack; with no Docker engine, the runbook's selectors only."""
    from chaos.stack.docker_api import DockerUnavailable, docker_client

    try:
        docker_client()
    except DockerUnavailable as exc:
        return make_plan(runbook, stack, unresolved=exc.message.split(" (")[0])
    return make_plan(runbook, stack)


def run(runbook: m.Runbook, stack: ComposeStack, *, gameday: bool = False,
        reports_dir: Path = REPORTS_DIR) -> RunResult:
    """Run `runbook` on `stack` with the real parts: the journal and reports land in `reports_dir`."""
    return Engine(
        runbook,
        stack,
        load_factory=load_factory,
        playbooks=AnsiblePlaybooks(stack, STATE_DIR / "playbooks"),
        operator=ConsoleOperator() if gameday else Unattended(),
        listeners=[ConsoleView(sys.stderr)],
        reports_dir=reports_dir,
        state_dir=STATE_DIR,
    ).run()


def recover_run(folder: str | Path, stack: ComposeStack) -> Recovery:
    """Revert what the run in `folder` left in `stack`, from its journal."""
    return recover(folder, stack, playbooks=AnsiblePlaybooks(stack, STATE_DIR / "playbooks"),
                   listeners=[ConsoleView(sys.stderr)], state_dir=STATE_DIR, known_playbooks=available())
