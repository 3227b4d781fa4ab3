"""Shared shape of faults that run tc/iptables in each target's network namespace, and of their effect checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from chaos.errors import FaultError
from chaos.faults import host_network
from chaos.faults.base import Fault, FaultContext, FaultRecord, P, TargetRef
from chaos.faults.on_hosts import on_inventory
from chaos.stack import containers
from chaos.stack.netns import run_in_netns

# Every interface but loopback, inside the target's namespace.
EACH_IFACE = 'for i in $(ls /sys/class/net); do [ "$i" = lo ] && continue; {cmd}; done'


@dataclass(frozen=True)
class Peer:
    """Who the effect checks talk to: a running container sharing a network with the target (not a target)."""

    id: str
    service: str
    network: str
    address: str  # the peer's, on that network
    target_address: str  # the target's, on that network

    def describe(self) -> dict[str, str]:
        """The peer, for the evidence of an effect check."""
        return {"peer": self.service, "network": self.network, "peer_address": self.address,
                "target_address": self.target_address}


def peer_for(ctx: FaultContext, record: FaultRecord, target: TargetRef) -> Peer:
    """A running container sharing a network with `target` that is not one of the record's targets."""
    found = containers.peer_of(target.id, ctx.stack.project, {t.id for t in record.targets})
    if found is None:
        raise FaultError(f"no running container shares a network with {target.service}: nothing to measure against",
                         fix="an effect check needs a peer on one of the target's networks that is not a target")
    peer_id, network, address, target_address = found
    return Peer(peer_id, containers.service_of(peer_id), network, address, target_address)


class NetnsFault(Fault[P]):
    """Subclasses give the commands; inject runs them in every target, revert undoes them (idempotent).

    On an inventory's hosts (when the subclass names its `host_script` of `playbooks/hosts/vars/scripts.yml`) the
    script runs on the targets' hosts with `host_args()`, and `un<host_script>` undoes it.
    """

    host_script: ClassVar[str | None] = None

    def host_args(self) -> list[object]:
        """The positional arguments of `host_script` (typed parameters only: nothing is spliced)."""
        return []

    def apply_script(self) -> str:
        """The shell commands that apply the fault inside a target's network namespace."""
        raise NotImplementedError

    def revert_script(self) -> str:
        """The shell commands that undo them (idempotent: run on a target that may have none)."""
        raise NotImplementedError

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if (hosts := on_inventory(ctx.stack)) and self.host_script:
            mine = host_network.target_hosts(ctx.targets)
            host_network.run_script(hosts, mine, self.host_script, {h: self.host_args() for h in mine})
            return ctx.record
        for target in ctx.targets:
            run_in_netns(target.id, self.apply_script())
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if (hosts := on_inventory(ctx.stack)) and self.host_script:
            host_network.run_script(hosts, host_network.target_hosts(record.targets), f"un{self.host_script}")
            return
        for target in record.targets:
            if containers.is_running(target.id):  # a container that is gone has no rules left
                run_in_netns(target.id, self.revert_script())
