"""partition: a datacenter cut from the backbone, both ways, while its containers keep running.

The targets are disconnected from the shared network(s); their own datacenter network stays, so
the datacenter goes on talking to itself: the split-brain test.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from chaos.errors import FaultError
from chaos.faults.base import Fault, FaultContext, FaultRecord, register
from chaos.stack import containers
from chaos.stack.docker_api import docker_client


class PartitionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    network: str = "backbone"  # compose network name, without the project prefix


@register("partition")
class Partition(Fault):
    Params = PartitionParams

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
        return {"network": network, "aliases": cut}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for container_id in ctx.record.state["aliases"]:
            containers.disconnect(container_id, ctx.record.state["network"])
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        network = record.state.get("network")
        for container_id, aliases in (record.state.get("aliases") or {}).items():
            if network and containers.exists(container_id) and network not in containers.networks_of(container_id):
                containers.connect(container_id, network, aliases=aliases or None)
