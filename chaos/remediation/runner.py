"""Run an Ansible remediation playbook with ansible-runner, on an inventory made from the running stack.

The inventory has one host, `toolkit` (this machine, connection local, pinned to the toolkit's own
Python: interpreter discovery picks a wrong one on some machines), and the stack's facts as vars.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import InvalidInput, PlaybookFailed
from chaos.log import get_logger
from chaos.remediation.facts import playbook_facts
from chaos.remediation.params import typed_params
from chaos.stack.ansible_data import extravars_text
from chaos.stack.compose import PROJECT_ROOT, ComposeStack

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
        """ansible-runner said `successful` and the playbook's return code is 0."""
        return self.status == "successful" and self.rc == 0


def available() -> list[str]:
    """The shipped playbooks: `playbooks/<name>.yml`, by name."""
    return sorted(p.stem for p in PLAYBOOKS.glob("*.yml"))


def playbook_path(name: str) -> Path:
    """`playbooks/<name>.yml`; `InvalidInput` naming the shipped ones when there is none."""
    path = PLAYBOOKS / f"{name}.yml"
    if not path.exists():
        raise InvalidInput(f"no playbook named {name!r}", fix=f"choose one of: {', '.join(available())}")
    return path


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
    extravars: Mapping[str, Any] | None = None,
    *,
    artifacts_root: Path | None = None,
    timeout_s: int = 600,
    cancel: Callable[[], bool] | None = None,
) -> PlaybookResult:
    """Run `playbooks/<name>.yml` on the stack's facts and the call's typed `extravars`; the result, failed or not.

    `cancel` is polled by ansible-runner: once it returns True the run stops (status `canceled`)."""
    import ansible_runner  # heavy import, only when a playbook runs

    path = playbook_path(name)
    params = typed_params(name, dict(extravars or {}))
    facts = playbook_facts(name, params, stack)
    root = artifacts_root or (PROJECT_ROOT / ".entchaos" / "playbooks")
    private = root / f"{name}-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    (private / "env").mkdir(parents=True, exist_ok=True)
    # Written here, not passed as `extravars=`: ansible-runner would write JSON, whose strings Ansible templates.
    (private / "env" / "extravars").write_text(extravars_text(facts))
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
        envvars={
            "PATH": f"{bindir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "ANSIBLE_LIBRARY": str(PLAYBOOKS / "library"),
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
    redact_artifacts(private)
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


def redact_artifacts(folder: Path) -> None:
    """ansible-runner keeps its inputs and events on disk (env/extravars, env/envvars, job events, stdout): the
    same masking as the log and the journal, so a secret in the stack's settings is not left there."""
    from chaos.log import redact_text

    for path in folder.rglob("*"):
        if not path.is_file() or path.stat().st_size > 16 << 20:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        masked = redact_text(text)
        if masked != text:
            path.write_text(masked, encoding="utf-8")


def run_playbook_or_raise(name: str, stack: ComposeStack, extravars: Mapping[str, Any] | None = None,
                          **kwargs: Any) -> PlaybookResult:
    """`run_playbook`, raising `PlaybookFailed` (the failing task, its message, the artefacts) unless it succeeded."""
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
        # Imported now, before the run guards its signals: a SIGTERM raised in the middle of this (heavy) import
        # would leave half a package in sys.modules, and the rollback's playbook would then fail on it
        # ("TypeError: 'module' object is not iterable", seen when SIGTERM came as the failover step started).
        import ansible_runner  # noqa: F401

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float,
            cancel: Callable[[], bool] | None = None) -> None:
        """Run one playbook to its end; `PlaybookFailed` when it fails, stopped early once `cancel()` is True."""
        run_playbook_or_raise(name, self.stack, dict(extravars), artifacts_root=self.artifacts_root,
                              timeout_s=int(timeout_s), cancel=cancel)
