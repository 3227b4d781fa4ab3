"""Which stack a run ran against, found again after the run died: for `entchaos recover` with no argument.

The journal names the compose project; the compose file is what the project's own containers say
(`com.docker.compose.project.config_files`, set by Compose), else the runbook's `stack:`, else the default.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from chaos.engine.journal import RunView
from chaos.engine.recover import RecoveryAll
from chaos.errors import ChaosError
from chaos.log import get_logger
from chaos.stack.compose import ComposeStack
from chaos.stack.labels import COMPOSE_PROJECT

log = get_logger(__name__)

CONFIG_FILES = "com.docker.compose.project.config_files"


def compose_file_of(project: str) -> Path | None:
    """The compose file the project's containers were made from (any container, running or not)."""
    from chaos.stack.docker_api import docker_client

    try:
        found = docker_client().api.containers(all=True, filters={"label": f"{COMPOSE_PROJECT}={project}"})
    except ChaosError:
        return None
    for summary in found:
        files = (summary.get("Labels") or {}).get(CONFIG_FILES, "")
        first = files.split(",")[0].strip()
        if first and Path(first).is_file():
            return Path(first)
    return None


def stack_of_run(run_project: str | None, runbook_path: str | None, *, project: str | None = None,
                 compose_file: str | None = None) -> ComposeStack:
    """Command-line options first, then what the run's project and runbook say."""
    name = project or run_project
    file: str | Path | None = compose_file or (compose_file_of(name) if name else None)
    if file is None and runbook_path and Path(runbook_path).is_file():
        try:
            from chaos.launch import stack_for, validate

            file = stack_for(validate(runbook_path), name).compose_file
        except ChaosError as exc:
            log.warning("recover_runbook_unreadable", runbook=runbook_path, error=exc.message)
    return ComposeStack.from_env(name, file)


def recover_everything(reports_dir: Path, *, project: str | None = None, compose_file: str | None = None,
                       on_found: Callable[[RunView], None] | None = None) -> RecoveryAll:
    """`recover_all` on the real parts: the compose stack of each run, ansible-runner, the console view."""
    from chaos.engine.recover import recover_all
    from chaos.launch import STATE_DIR
    from chaos.remediation.runner import AnsiblePlaybooks, available
    from chaos.report.console import ConsoleView

    return recover_all(
        reports_dir,
        lambda run: stack_of_run(run.project, run.runbook_path, project=project, compose_file=compose_file),
        project=project,
        playbooks_for=lambda stack: AnsiblePlaybooks(stack, STATE_DIR / "playbooks"),
        listeners=[ConsoleView(sys.stderr)],
        state_dir=STATE_DIR,
        known_playbooks=available(),
        on_found=on_found,
    )
