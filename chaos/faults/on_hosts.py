"""Faults on an inventory's hosts: the playbooks of `playbooks/hosts/` run over SSH on the targets' hosts.

A target there is one service on one host (`chaos.stack.inventory`); a fault acts on the service's processes
(signals), on the host's firewall (a fire's cut), or asks the host how they are (`service_states`). Every
playbook is limited to the hosts of the targets: no other host is contacted.
"""

from __future__ import annotations

from collections.abc import Iterable

from chaos.errors import FaultError
from chaos.stack.hosts import HostRun, ServiceState, run_host_playbook, states_of
from chaos.stack.interface import Stack, TargetRef
from chaos.stack.inventory import InventoryStack


def on_inventory(stack: Stack) -> InventoryStack | None:
    """The stack as an inventory, or None on any other backend."""
    return stack if isinstance(stack, InventoryStack) else None


def by_host(targets: Iterable[TargetRef]) -> dict[str, list[str]]:
    """host -> its target services (a target's `name` is its host on this backend)."""
    found: dict[str, list[str]] = {}
    for target in targets:
        found.setdefault(target.name, []).append(target.service)
    return found


def run_on_targets(stack: InventoryStack, playbook: str, targets: Iterable[TargetRef], *,
                   check: bool = True, **extravars: object) -> HostRun:
    """`playbooks/hosts/<playbook>.yml` on the targets' hosts only; `FaultError` when a host fails or is
    unreachable (unless `check` is False)."""
    hosts = by_host(targets)
    if not hosts:
        raise FaultError(f"{playbook}: no target", fix="the step selected nothing")
    run = run_host_playbook(playbook, stack.path, extravars={"targets": hosts, **extravars},
                            limit=",".join(sorted(hosts)))
    trouble = {**run.unreachable, **run.failed}
    missing = sorted(set(hosts) - set(run.results) - set(trouble))
    if check and (trouble or missing):
        detail = "; ".join(f"{host}: {why}" for host, why in sorted(trouble.items()))
        raise FaultError(f"playbook hosts/{playbook} failed on {', '.join(sorted(trouble) + missing)}: "
                         f"{detail or 'no answer'}", where=str(stack.path),
                         fix="check the hosts answer: `ansible -i INVENTORY HOST -m ping`")
    return run


def service_states(stack: InventoryStack, targets: Iterable[TargetRef]) -> dict[str, ServiceState]:
    """`<host>/<service>` -> its state, for every target (`unknown` when its host did not answer)."""
    targets = list(targets)
    found = states_of(run_on_targets(stack, "service-state", targets, check=False))
    return {f"{t.name}/{t.service}": found.get(f"{t.name}/{t.service}", ServiceState(None, "-", "-", "?"))
            for t in targets}
