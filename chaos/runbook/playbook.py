"""Run an Ansible remediation playbook with ansible-runner, on an inventory made from the running stack.

The inventory has one host, `toolkit` (this machine, connection local, pinned to the toolkit's own
Python: interpreter discovery picks a wrong one on some machines), and the stack's facts as vars.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from chaos.errors import InvalidInput, PlaybookFailed
from chaos.logging import get_logger
from chaos.runbook.playbook_params import PLAYBOOK_PARAMS, PlaybookParams, check
from chaos.stack.compose import PROJECT_ROOT, ComposeStack, compose_command
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, DATACENTER, ROLE

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


def typed_params(name: str, extravars: dict[str, Any]) -> PlaybookParams:
    """A call's parameters through its playbook's model, again at run time (whoever built the step)."""
    if name not in PLAYBOOK_PARAMS:
        raise InvalidInput(f"playbook {name!r} has no parameter model",
                           fix="register one in chaos/runbook/playbook_params.py")
    try:
        return check(name, extravars)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"playbook {name}: extravars do not fit its parameters: {exc}",
                           fix=f"see {PLAYBOOK_PARAMS[name].__name__} in chaos/runbook/playbook_params.py") from None


def playbook_path(name: str) -> Path:
    path = PLAYBOOKS / f"{name}.yml"
    if not path.exists():
        raise InvalidInput(f"no playbook named {name!r}", fix=f"choose one of: {', '.join(available())}")
    return path


SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def _chaos_services(stack: ComposeStack) -> dict[str, dict[str, str]]:
    """service -> its entchaos labels, for the services labelled `entchaos.chaos=allowed` only (from the compose
    file, so a burned service with no container left is still known). The playbooks see no other service."""
    allowed = {}
    for name, labels in stack.services_by_label().items():
        if labels.get(CHAOS) != CHAOS_ALLOWED:
            continue
        if not SERVICE_NAME.match(name):
            raise InvalidInput(f"service name {name!r} in {stack.compose_file} is not a plain name",
                               fix="name services with letters, digits, `.`, `_` and `-`")
        allowed[name] = labels
    return allowed


def stack_facts(stack: ComposeStack) -> dict[str, Any]:
    """What every playbook may use: the chaos-allowed containers by service, compose access, edge API, layout."""
    running = {t.service: t for t in stack.targets()}
    services = {
        name: {
            "id": running[name].id if name in running else None,
            "role": labels.get(ROLE, "-"),
            "datacenter": labels.get(DATACENTER, "-"),
            "status": running[name].status if name in running else "absent",
        }
        for name, labels in _chaos_services(stack).items()
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


def service_volumes(config: dict[str, Any], project: str, services: Iterable[str]) -> list[str]:
    """The named volumes the services mount that are labelled `entchaos.chaos=allowed`, by their engine name."""
    declared = config.get("volumes") or {}
    found = set()
    for service in services:
        for mount in (config.get("services", {}).get(service) or {}).get("volumes") or []:
            if not isinstance(mount, dict) or mount.get("type") != "volume" or mount.get("source") not in declared:
                continue
            spec = declared[mount["source"]] or {}
            if (spec.get("labels") or {}).get(CHAOS) == CHAOS_ALLOWED and not spec.get("external"):
                found.add(spec.get("name") or f"{project}_{mount['source']}")
    return sorted(found)


def datacenter_vars(stack: ComposeStack, facts: dict[str, Any], datacenter: str) -> dict[str, Any]:
    """The chaos-allowed db and app services of a datacenter, and the chaos-allowed volumes they mount."""
    roles = facts["services_by_datacenter"].get(datacenter)
    if not roles:
        raise InvalidInput(
            f"datacenter {datacenter!r} has no service labelled entchaos.chaos=allowed in {stack.compose_file}",
            fix=f"choose one of: {', '.join(sorted(k for k in facts['services_by_datacenter'] if k != '-'))}",
        )
    services = {"db": sorted(roles.get("db", [])), "app": sorted(roles.get("app", []))}
    return {
        "datacenter": datacenter,
        "datacenter_services": services,
        "datacenter_volumes": service_volumes(stack.config(), stack.project, services["db"] + services["app"]),
    }


def playbook_facts(name: str, params: PlaybookParams, stack: ComposeStack) -> dict[str, Any]:
    """The facts the toolkit computes for one playbook call, and the call's own parameters: disjoint by design."""
    facts = stack_facts(stack)
    values = params.model_dump(mode="json")
    datacenter = values.get("datacenter")
    if datacenter is not None:
        facts.update(datacenter_vars(stack, facts, datacenter))
        values.pop("datacenter")
    clash = sorted(set(facts) & set(values))
    if clash:  # the models forbid reserved names: reaching this is a bug in the toolkit, not in a runbook
        raise InvalidInput(f"playbook {name}: parameters {clash} would override the toolkit's facts")
    return {**facts, **values}


def playbook_hits(name: str, extravars: dict[str, Any], stack: ComposeStack) -> str:
    """For `plan`: what the call will act on, from the same facts the playbook gets (nothing is changed)."""
    facts = playbook_facts(name, typed_params(name, extravars), stack)
    services = facts["stack_services"]

    def in_dc(role: str, datacenter: str, *, inside: bool = True) -> list[str]:
        return sorted(s for s, info in services.items()
                      if info["role"] == role and (info["datacenter"] == datacenter) == inside)

    if "datacenter_services" in facts and name == "rebuild-datacenter":
        dc = facts["datacenter_services"]
        return (f"recreates containers {', '.join(dc['db'] + dc['app']) or 'none'}; destroys volumes "
                f"{', '.join(facts['datacenter_volumes']) or 'none'}")
    if name == "failover-database":
        failed = facts["failed_datacenter"]
        return (f"kills containers {', '.join(in_dc('db', failed)) or 'none'}; promotes one of "
                f"{', '.join(in_dc('db', failed, inside=False)) or 'none'}")
    if name in ("edge-drain", "edge-undrain"):
        return f"edge servers {', '.join(in_dc('app', facts['datacenter'])) or 'none'}"
    return "the edge's runtime API only"


TEMPLATE_CHARS = frozenset("{%#")


class _Unsafe(str):
    """A string Ansible must treat as data: written as `!unsafe`, it is never templated."""


class _UnsafeDumper(yaml.SafeDumper):
    pass


_UnsafeDumper.add_representer(_Unsafe, lambda dumper, text: dumper.represent_scalar("!unsafe", str(text)))


def as_data(value: Any) -> Any:
    """Every string in `value` that could hold a template (keys below the top level included) marked unsafe.

    Jinja acts only from its delimiters (`{{`, `{%`, `{#`): a string with no `{`, `%` or `#` is never rendered, and
    stays plain. That matters: ansible-core 2.19 resolves an `!unsafe` scalar's type as if unquoted (`!unsafe 'on'`
    reads True, so `sync_replication == 'on'` is false) and turns an unsafe '' into None in `environment`."""
    if isinstance(value, str):
        return _Unsafe(value) if TEMPLATE_CHARS.intersection(value) else value
    if isinstance(value, dict):
        return {as_data(k) if isinstance(k, str) else k: as_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_data(v) for v in value]
    return value


def extravars_text(variables: dict[str, Any]) -> str:
    """The `env/extravars` file ansible-runner hands to `ansible-playbook -e @file`: YAML, strings `!unsafe`.

    (ansible-runner would write a dict as JSON, whose strings Ansible templates: `{{ lookup('pipe', …) }}` would
    run. `!unsafe` is Ansible's own "unsafe or raw strings" marker: the value is used, never rendered.)
    """
    for key in variables:
        if not re.match(r"^[a-z_][a-z0-9_]*$", key):
            raise InvalidInput(f"variable name {key!r} is not a plain identifier")
    body = {key: as_data(value) for key, value in variables.items()}
    return yaml.dump(body, Dumper=_UnsafeDumper, sort_keys=True, allow_unicode=True)


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
    params = typed_params(name, extravars or {})
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
    from chaos.logging import redact_text

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
