"""Run an Ansible remediation playbook with ansible-runner, on an inventory made from the running stack.

The inventory has one host, `toolkit` (this machine, connection local, pinned to the toolkit's own
Python: interpreter discovery picks a wrong one on some machines), and the stack's facts as vars.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import InvalidInput, PlaybookFailed
from chaos.logging import get_logger
from chaos.stack.compose import PROJECT_ROOT, ComposeStack, compose_command
from chaos.stack.containers import datacenter_volumes
from chaos.stack.labels import DATACENTER, ROLE

log = get_logger(__name__)

PLAYBOOKS = PROJECT_ROOT / "playbooks"


@dataclass
class PlaybookResult:
    """Shaped like ansible-runner's own result: a status, a code and a folder of artefacts."""

    name: str
    status: str  # successful, failed, timeout, canceled
    rc: int
    artifacts: Path
    duration_s: float
    failed_task: str | None = None
    message: str | None = None
    changed: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and self.rc == 0


def available() -> list[str]:
    return sorted(p.stem for p in PLAYBOOKS.glob("*.yml"))


def playbook_path(name: str) -> Path:
    path = PLAYBOOKS / f"{name}.yml"
    if not path.exists():
        raise InvalidInput(f"no playbook named {name!r}", fix=f"choose one of: {', '.join(available())}")
    return path


def stack_facts(stack: ComposeStack) -> dict[str, Any]:
    """What every playbook may use: containers by service, compose access, edge API, layout."""
    running = {t.service: t for t in stack.targets()}
    declared = stack.services_by_label()
    services = {
        name: {
            "id": running[name].id if name in running else None,
            "role": labels.get(ROLE, "-"),
            "datacenter": labels.get(DATACENTER, "-"),
            "status": running[name].status if name in running else "absent",
        }
        for name, labels in declared.items()
    }
    by_dc: dict[str, dict[str, list[str]]] = {}
    for name, info in services.items():
        by_dc.setdefault(info["datacenter"], {}).setdefault(info["role"], []).append(name)
    facts: dict[str, Any] = {
        "project": stack.project,
        "compose_file": str(stack.compose_file),
        "compose_cmd": compose_command(),
        "compose_env": {"ENTCHAOS_PROJECT": stack.project, **stack.env},
        "stack_services": services,
        "services_by_datacenter": by_dc,
        "sync_replication": stack.setting("ENTCHAOS_SYNC_REPLICATION", "on"),
    }
    if "edge" in running:
        facts["edge_api_host"], facts["edge_api_port"] = stack.edge_api()
    return facts


def datacenter_vars(stack: ComposeStack, facts: dict[str, Any], datacenter: str) -> dict[str, Any]:
    roles = facts["services_by_datacenter"].get(datacenter)
    if not roles:
        raise InvalidInput(
            f"datacenter {datacenter!r} has no service in {stack.compose_file}",
            fix=f"choose one of: {', '.join(sorted(k for k in facts['services_by_datacenter'] if k != '-'))}",
        )
    volumes = datacenter_volumes(stack.project, datacenter) or [
        f"{stack.project}_{name}"
        for name, spec in (stack.config().get("volumes") or {}).items()
        if (spec.get("labels") or {}).get(DATACENTER) == datacenter
    ]
    return {
        "datacenter": datacenter,
        "datacenter_services": {"db": roles.get("db", []), "app": roles.get("app", [])},
        "datacenter_volumes": volumes,
    }


def _failure(runner: Any) -> tuple[str | None, str | None]:
    for event in reversed(list(runner.events)):
        if event.get("event") in ("runner_on_failed", "runner_on_unreachable", "runner_item_on_failed"):
            data = event.get("event_data", {})
            res = data.get("res", {})
            # A loop fails as a whole ("One or more items failed"): the failing item says why.
            failed_items = [r for r in res.get("results", []) if isinstance(r, dict) and r.get("failed")]
            res = failed_items[0] if failed_items else res
            msg = res.get("stderr") or res.get("msg") or res.get("stdout") or str(res)[:300]
            return data.get("task"), str(msg).strip()
    return None, None


def run_playbook(
    name: str,
    stack: ComposeStack,
    extravars: dict[str, Any] | None = None,
    *,
    artifacts_root: Path | None = None,
    timeout_s: int = 600,
    cancel: Any = None,
) -> PlaybookResult:
    import ansible_runner  # heavy import, only when a playbook runs

    path = playbook_path(name)
    facts = stack_facts(stack)
    if "datacenter" in (extravars or {}):
        facts.update(datacenter_vars(stack, facts, extravars["datacenter"]))
    facts.update(extravars or {})
    root = artifacts_root or (PROJECT_ROOT / ".entchaos" / "playbooks")
    private = root / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    private.mkdir(parents=True, exist_ok=True)
    inventory = {
        "all": {
            "children": {
                "toolkit": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        }
    }
    bindir = str(Path(sys.executable).parent)
    log.info("playbook_started", playbook=name, artifacts=str(private))
    started = time.monotonic()
    runner = ansible_runner.run(
        private_data_dir=str(private),
        playbook=str(path),
        inventory=inventory,
        extravars=facts,
        envvars={
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_LIBRARY": str(PLAYBOOKS / "library"),
            "ANSIBLE_MODULE_UTILS": str(PLAYBOOKS / "module_utils"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        },
        quiet=True,
        timeout=timeout_s,
        cancel_callback=cancel,
    )
    task, message = _failure(runner) if runner.rc != 0 else (None, None)
    stats = runner.stats or {}
    result = PlaybookResult(
        name=name,
        status=runner.status,
        rc=runner.rc,
        artifacts=private,
        duration_s=round(time.monotonic() - started, 3),
        failed_task=task,
        message=message,
        changed={"changed": sum((stats.get("changed") or {}).values())},
    )
    if result.ok:
        log.info("playbook_finished", playbook=name, seconds=result.duration_s)
    else:
        log.error("playbook_failed", playbook=name, task=task, message=message, status=runner.status)
    return result


def run_playbook_or_raise(name: str, stack: ComposeStack, extravars: dict[str, Any] | None = None,
                          **kwargs: Any) -> PlaybookResult:
    result = run_playbook(name, stack, extravars, **kwargs)
    if not result.ok:
        raise PlaybookFailed(
            f"playbook {name} failed at task {result.failed_task!r}: {result.message}",
            where=str(playbook_path(name)),
            fix=f"artefacts in {result.artifacts}",
        )
    return result


class AnsiblePlaybooks:
    """The engine's `PlaybookRunner`, on ansible-runner against the running compose stack."""

    def __init__(self, stack: ComposeStack, artifacts_root: Path | None = None) -> None:
        self.stack = stack
        self.artifacts_root = artifacts_root

    def run(self, name: str, extravars: dict[str, Any], *, timeout_s: float, cancel: Any = None) -> None:
        run_playbook_or_raise(name, self.stack, dict(extravars), artifacts_root=self.artifacts_root,
                              timeout_s=int(timeout_s), cancel=cancel)
