"""partition: a datacenter cut from the backbone, both ways, while its containers keep running.

The targets are disconnected from the shared network(s); their own datacenter network stays, so
the datacenter goes on talking to itself: the split-brain test.

Its effect is measured: a probe agent listens in each target's namespace and in a peer's (a container left on
the cut network); a TCP connect must work both ways before the cut (journaled with the record), fail both ways
after it (to the addresses they had), and work again after the revert.

On an inventory's hosts (`chaos.faults.host_network`) the targets' hosts drop every packet to and from the peer hosts
(`peers`: a dc_* or role_* group; by default every host outside the targets' datacenters), their SSH servers aside.
The effect is measured from both sides: each pair of hosts that answered each other before (a TCP connect to a
closed port is answered by a reset) must not after the cut, and must again after the revert.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import FaultError
from chaos.faults import host_network
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, register
from chaos.faults.on_hosts import on_inventory
from chaos.stack import containers
from chaos.stack.docker_api import docker_client
from chaos.stack.inventory import InventoryStack
from chaos.stack.netns import NetnsAgent

CONNECT_TIMEOUT_S = 1.5  # across a bridge a connect takes a few ms: longer is a cut


def connects(target_id: str, target_address: str, peer_id: str, peer_address: str) -> dict[str, Any]:
    """A TCP connect each way between the target and the peer, each to a listener in the other's namespace."""
    with NetnsAgent(target_id) as here, NetnsAgent(peer_id) as there:
        return {"to_peer": here.run("connect", peer_address, there.port, CONNECT_TIMEOUT_S),
                "from_peer": there.run("connect", target_address, here.port, CONNECT_TIMEOUT_S)}


class PartitionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: str = Field("backbone", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64,
                         description="compose network name, without the project prefix")
    peers: str | None = Field(None, pattern=r"^(dc|role)_[a-z0-9][a-z0-9_.-]*$", max_length=64,
                              description="inventory backend: the group cut from the targets' hosts (default: every "
                              "host outside the targets' datacenters)")


@register("partition")
class Partition(Fault[PartitionParams]):
    """The targets are disconnected from `network`; they keep their other networks (on hosts: from `peers`)."""

    backends = ("compose", "inventory")
    needs = ("iptables (on hosts)",)

    def prepare(self, ctx: FaultContext) -> dict:
        if hosts := on_inventory(ctx.stack):
            return self._prepare_hosts(ctx, hosts)
        if self.params.peers:
            raise FaultError("partition: `peers` names inventory groups; on a compose stack name a `network`",
                             fix="remove `peers` from the step, or run it with --inventory")
        network = f"{ctx.stack.project}_{self.params.network}"
        cut: dict[str, list[str]] = {}
        for target in ctx.targets:
            attrs = docker_client().api.inspect_container(target.id)
            nets = attrs["NetworkSettings"].get("Networks") or {}
            if network in nets:
                cut[target.id] = [a for a in (nets[network].get("Aliases") or []) if not target.id.startswith(a)]
        if not cut:
            raise FaultError(
                f"no target is on network {network}", fix="check the `network` parameter of the partition step"
            )
        peer = containers.peer_on(ctx.stack.project, network, {t.id for t in ctx.targets})
        if peer is None:
            raise FaultError(f"no container but the targets is on {network}: a cut from nobody cannot be checked",
                             fix="partition a part of the stack, not all of it")
        addresses = {cid: containers.addresses(cid).get(network, "") for cid in cut}
        before = {cid: connects(cid, addresses[cid], *peer) for cid in cut}  # proves the probe can succeed
        return {"network": network, "aliases": cut, "peer": {"id": peer[0], "address": peer[1]},
                "addresses": addresses, "before": before}

    def _prepare_hosts(self, ctx: FaultContext, stack: InventoryStack) -> dict:
        if "network" in self.params.model_fields_set:
            raise FaultError("partition: `network` names a compose network; on an inventory name `peers` (a group)",
                             fix="replace `network` by `peers: dc_<name>` or `role_<name>`")
        mine = host_network.target_hosts(ctx.targets)
        peers = host_network.peers_of(stack, ctx.targets, self.params.peers)
        addresses = host_network.probe(stack, [*mine, *peers]).addresses
        state = {"hosts": mine, "peers": peers, "addresses": {h: addresses.get(h, []) for h in [*mine, *peers]}}
        before = self._pairs(stack, state)
        if not any(before.values()):
            raise FaultError(f"no peer answers {', '.join(mine)} before the cut: a cut from nobody cannot be checked",
                             where=str(stack.path), fix="check the hosts reach each other (`entchaos fleet status`)")
        return {**state, "before": before}

    @staticmethod
    def _pairs(stack: InventoryStack, state: dict) -> dict[str, bool]:
        """`a -> b` -> b answered a, for every target host and peer, both ways."""
        mine, peers, addresses = state["hosts"], state["peers"], state["addresses"]
        tries = {h: [a for p in peers for a in addresses[p]] for h in mine}
        for peer in peers:
            tries[peer] = [a for h in mine for a in addresses[h]]
        seen = host_network.reachable(stack, tries)
        pairs: dict[str, bool] = {}
        for h in mine:
            for p in peers:
                pairs[f"{h} -> {p}"] = any(seen[h].get(a) for a in addresses[p])
                pairs[f"{p} -> {h}"] = any(seen[p].get(a) for a in addresses[h])
        return pairs

    def _host_effect(self, ctx: FaultContext, record: FaultRecord, *, cut: bool) -> Effect:
        stack = on_inventory(ctx.stack)
        assert stack is not None
        before: dict[str, bool] = record.state["before"]
        now = self._pairs(stack, dict(record.state))
        checked = {pair: now[pair] for pair, answered in before.items() if answered}
        verified = (not any(checked.values())) if cut else all(checked.values())
        return Effect(verified, {"peers": record.state["peers"], "hosts": record.state["hosts"],
                                 "answered_before": sorted(checked), "answered_now": sorted(p for p, ok in now.items()
                                                                                            if ok)})

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if hosts := on_inventory(ctx.stack):
            peers = [a for p in ctx.record.state["peers"] for a in ctx.record.state["addresses"][p]]
            host_network.run_script(hosts, ctx.record.state["hosts"], "partition",
                               {h: peers for h in ctx.record.state["hosts"]})
            return ctx.record
        for container_id in ctx.record.state["aliases"]:
            containers.disconnect(container_id, ctx.record.state["network"])
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if hosts := on_inventory(ctx.stack):
            if record.state.get("hosts"):
                host_network.run_script(hosts, record.state["hosts"], "unpartition")
            return
        network = record.state.get("network")
        for container_id, aliases in (record.state.get("aliases") or {}).items():
            if network and containers.exists(container_id) and network not in containers.networks_of(container_id):
                containers.connect(container_id, network, aliases=aliases or None)

    def _evidence(self, record: FaultRecord, seen: dict[str, dict]) -> dict[str, Any]:
        names = {t.id: t.service for t in record.targets}
        peer = record.state.get("peer") or {}
        return {"network": record.state.get("network"), "peer": containers.service_of(peer.get("id", "")),
                "peer_address": peer.get("address"),
                "targets": {names.get(cid, cid[:12]): {"before": record.state.get("before", {}).get(cid), **s}
                            for cid, s in seen.items()}}

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """A TCP connect across the cut fails both ways: target → peer and peer → the target's old address."""
        if on_inventory(ctx.stack):
            return self._host_effect(ctx, record, cut=True)
        peer = record.state["peer"]
        seen = {cid: connects(cid, record.state["addresses"][cid], peer["id"], peer["address"])
                for cid in record.state["aliases"]}
        cut = all(not s["to_peer"]["ok"] and not s["from_peer"]["ok"] for s in seen.values())
        return Effect(cut, self._evidence(record, seen))

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same connects work both ways again (to the address the target has on the network now)."""
        if on_inventory(ctx.stack):
            return self._host_effect(ctx, record, cut=False)
        peer, network = record.state["peer"], record.state["network"]
        seen: dict[str, dict] = {}
        for cid in record.state["aliases"]:
            address = containers.addresses(cid).get(network) if containers.is_running(cid) else None
            if address is None:
                seen[cid] = {"to_peer": None, "from_peer": None, "error": f"not on {network}"}
                continue
            seen[cid] = {"address_now": address, **connects(cid, address, peer["id"], peer["address"])}
        healed = all((s["to_peer"] or {}).get("ok") and (s["from_peer"] or {}).get("ok") for s in seen.values())
        return Effect(healed, self._evidence(record, seen))
