"""partition: a datacenter cut from the backbone, both ways, while its containers keep running.

The targets are disconnected from the shared network(s); their own datacenter network stays, so
the datacenter goes on talking to itself: the split-brain test.

Its effect is measured: a probe agent listens in each target's namespace and in a peer's (a container left on
the cut network); a TCP connect must work both ways before the cut (journaled with the record), fail both ways
after it (to the addresses they had), and work again after the revert.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import FaultError
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, register
from chaos.stack import containers
from chaos.stack.docker_api import docker_client
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


@register("partition")
class Partition(Fault[PartitionParams]):
    """The targets are disconnected from `network`; they keep their other networks."""

    def prepare(self, ctx: FaultContext) -> dict:
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

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for container_id in ctx.record.state["aliases"]:
            containers.disconnect(container_id, ctx.record.state["network"])
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
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
        peer = record.state["peer"]
        seen = {cid: connects(cid, record.state["addresses"][cid], peer["id"], peer["address"])
                for cid in record.state["aliases"]}
        cut = all(not s["to_peer"]["ok"] and not s["from_peer"]["ok"] for s in seen.values())
        return Effect(cut, self._evidence(record, seen))

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same connects work both ways again (to the address the target has on the network now)."""
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
