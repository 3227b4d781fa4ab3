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

# Every interface the fault acts on, inside the target's namespace: $IFACES, set by `ifaces_script`.
EACH_IFACE = 'for i in $IFACES; do {cmd}; done'
ALL_IFACES = 'IFACES=$(ls /sys/class/net | grep -vx lo)'
# $1 an IPv4 address: the interface that holds it (the one on a given network).
IFACE_OF = """IFACES=$(ip -o -4 addr show | awk -v a="$1" 'index($4, a "/") == 1 {print $2}')
[ -n "$IFACES" ] || { echo "no interface holds $1" >&2; exit 3; }"""


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


def peer_for(ctx: FaultContext, record: FaultRecord, target: TargetRef, network: str | None = None) -> Peer:
    """A running container sharing a network with `target` (that compose network, if given) that is not one of
    the record's targets."""
    full = f"{ctx.stack.project}_{network}" if network else None
    found = containers.peer_of(target.id, ctx.stack.project, {t.id for t in record.targets}, full)
    if found is None and network:
        raise FaultError(f"no running container but the targets is on network {network} with {target.service}",
                         fix="the effect check needs a peer on that network")
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

    def network(self) -> str | None:
        """The one compose network the fault acts on (its `network` parameter), or None for all of them."""
        return getattr(self.params, "network", None)

    def ifaces_script(self, ctx: FaultContext, target: TargetRef) -> str:
        """Sets $IFACES in the target's namespace: every interface but loopback, or the one on `network()`."""
        network = self.network()
        if network is None:
            return ALL_IFACES
        address = containers.addresses(target.id).get(f"{ctx.stack.project}_{network}")
        if address is None:
            raise FaultError(f"{target.service} is not on network {network}",
                             fix="name one of the target's networks (compose names, without the project prefix)")
        return f"set -- {address}\n{IFACE_OF}"

    def prepare(self, ctx: FaultContext) -> dict:
        if self.network() is not None and on_inventory(ctx.stack):
            raise FaultError(f"{self.name}: `network` names a compose network; on hosts every interface is hit",
                             fix="remove `network` from the step")
        for target in ctx.targets:  # a missing network is said before anything is injected
            self.ifaces_script(ctx, target)
        return {}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if (hosts := on_inventory(ctx.stack)) and self.host_script:
            mine = host_network.target_hosts(ctx.targets)
            host_network.run_script(hosts, mine, self.host_script, {h: self.host_args() for h in mine})
            return ctx.record
        for target in ctx.targets:
            run_in_netns(target.id, f"{self.ifaces_script(ctx, target)}\n{self.apply_script()}")
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if (hosts := on_inventory(ctx.stack)) and self.host_script:
            host_network.run_script(hosts, host_network.target_hosts(record.targets), f"un{self.host_script}")
            return
        for target in record.targets:
            if containers.is_running(target.id):  # a container that is gone has no rules left
                run_in_netns(target.id, f"{ALL_IFACES}\n{self.revert_script()}")
