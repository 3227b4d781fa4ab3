"""The facts the toolkit gives a playbook: the stack's chaos-allowed services by datacenter and role, compose
access, the edge's runtime API, and per call the services and volumes of the datacenter it names.

Computed from the running stack, never from a runbook (the playbook's own parameters are typed in `params`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from chaos.errors import InvalidInput
from chaos.remediation.params import PlaybookParams, typed_params
from chaos.stack.compose import ComposeStack, compose_command
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, DATACENTER, ROLE

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
    services: dict[str, dict[str, Any]] = {
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
