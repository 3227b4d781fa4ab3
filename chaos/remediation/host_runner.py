"""Remediation playbooks on an inventory's hosts: `playbooks/hosts/<name>.yml`, the same names and typed parameters
as the compose stack's playbooks, with facts computed from the inventory (never from a runbook).

A runbook that names `failover-database` runs the compose version on a compose stack and this one on an inventory:
what differs lives in the backend, not in the runbook.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chaos.errors import InvalidInput, PlaybookFailed
from chaos.remediation.params import typed_params
from chaos.stack.hosts import HOST_PLAYBOOKS, run_host_playbook
from chaos.stack.inventory import InventoryStack


def host_playbooks() -> list[str]:
    """The playbooks that have a hosts version, by name."""
    return sorted(p.stem for p in HOST_PLAYBOOKS.glob("*.yml") if (HOST_PLAYBOOKS.parent / p.name).is_file())


def host_facts(stack: InventoryStack) -> dict[str, Any]:
    """What every host playbook may use: the services of chaos-allowed hosts with their host, role, datacenter,
    data directories and health URL, and whether replication is synchronous (`entchaos_sync_replication`)."""
    services = {
        service.name: {"host": host.name, "role": service.role, "datacenter": host.datacenter,
                       "data_dirs": list(service.data_dirs), "health_url": service.health_url or ""}
        for host in stack.hosts if host.chaos_allowed for service in host.services
    }
    sync = {str(h.variables.get("entchaos_sync_replication", "on")) for h in stack.hosts}
    return {"stack_services": services, "sync_replication": "off" if "off" in sync else "on"}


def host_playbook_hits(name: str, extravars: dict[str, Any], stack: InventoryStack) -> str:
    """For `plan`: what the call will act on, from the same facts the playbook gets (no host is contacted)."""
    values = typed_params(name, extravars).model_dump(mode="json")
    services = host_facts(stack)["stack_services"]

    def named(role: str, datacenter: str, *, inside: bool = True) -> str:
        found = sorted(f"{s} on {info['host']}" for s, info in services.items()
                       if info["role"] == role and (info["datacenter"] == datacenter) == inside)
        return ", ".join(found) or "none"

    if name == "failover-database":
        failed = values["failed_datacenter"]
        return f"kills {named('db', failed)} (over SSH); promotes the first of {named('db', failed, inside=False)}"
    if name == "rebuild-datacenter":
        dc = values["datacenter"]
        dirs = sorted(f"{d} on {info['host']}" for s, info in services.items()
                      if info["datacenter"] == dc and info["role"] == "db" for d in info["data_dirs"])
        return (f"reconnects the hosts of {dc}; empties {', '.join(dirs) or 'no data directory'}; starts "
                f"{named('db', dc)}, then {named('app', dc)}")
    return "no version for an inventory's hosts: refused by `run`"


class HostPlaybooks:
    """The engine's `PlaybookRunner` on an inventory's hosts (over SSH, through ansible-runner)."""

    def __init__(self, stack: InventoryStack) -> None:
        self.stack = stack
        import ansible_runner  # noqa: F401  (before the run guards its signals: see AnsiblePlaybooks)

    def run(self, name: str, extravars: Mapping[str, Any], *, timeout_s: float,
            cancel: Callable[[], bool] | None = None) -> None:
        """Run one host playbook to its end on every host; `PlaybookFailed` when a host fails or is unreachable."""
        if name not in host_playbooks():
            raise InvalidInput(f"playbook {name!r} has no version for an inventory's hosts",
                               fix=f"on an inventory: {', '.join(host_playbooks())}")
        values = typed_params(name, dict(extravars)).model_dump(mode="json")
        facts = host_facts(self.stack)
        if set(values) & set(facts):  # the models forbid reserved names: reaching this is a bug in the toolkit
            raise InvalidInput(f"playbook {name}: parameters {sorted(set(values) & set(facts))} override facts")
        run = run_host_playbook(name, self.stack.path, extravars={**facts, **values}, timeout_s=int(timeout_s),
                                cancel=cancel)
        trouble = {**run.unreachable, **run.failed}
        if trouble or run.rc != 0:
            detail = "; ".join(f"{host}: {why}" for host, why in sorted(trouble.items())) or f"status {run.status}"
            raise PlaybookFailed(f"playbook hosts/{name} failed: {detail}", where=str(HOST_PLAYBOOKS / f"{name}.yml"),
                                 fix="read the hosts' answers above; `entchaos fleet status` for the test fleet")
