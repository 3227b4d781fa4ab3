"""datacenter-fire: like SBG2 in March 2021, a whole datacenter goes at once and nothing comes back.

Every selected container of the datacenter (chaos-allowed, `target`, `count`) is SIGKILLed at the same instant
(no goodbye), cut from every network, removed, and the volumes they mount destroyed: only those labelled
`entchaos.chaos=allowed` and mounted by no other container (`containers.destroyable_volumes`); `plan` lists them.
It is destructive: the runbook names the steps that repair it
(`reverted_by: [failover, rebuild]`: the `failover-database` and `rebuild-datacenter` playbooks), and the rollback
or `entchaos recover` runs those that have not succeeded yet. Reverting the fault itself only finishes a fire cut
short.

On an inventory's hosts (`chaos.faults.on_hosts`): every host of the targets is cut off from every network at once
(its SSH server aside: how the toolkit undoes it) and every target service SIGKILLed; the machines stay, as burned
racks' inventory entries do. The fire destroys data only when the runbook names the services (`destroy_data`) and
their hosts allow it (`entchaos_destroy_data: allowed`): their declared data directories are emptied, and the effect
check sees them empty. The rebuild (`playbooks/hosts/rebuild-datacenter.yml`) reconnects the hosts and empties the
databases' data directories that the inventory declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import FaultError, InvalidInput
from chaos.faults import host_network
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register, target_names
from chaos.faults.on_hosts import on_inventory, run_on_targets, service_states
from chaos.log import get_logger
from chaos.stack import containers
from chaos.stack.interface import Stack, TargetRef
from chaos.stack.inventory import InventoryStack

log = get_logger(__name__)


class DatacenterFireParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    destroy_data: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")]] = Field(
        default_factory=list, max_length=50,
        description="inventory backend: the target services whose declared data directories the fire empties (their "
        "hosts must carry `entchaos_destroy_data: allowed`); compose destroys the chaos-allowed volumes instead")


@register("datacenter-fire")
class DatacenterFire(Fault[DatacenterFireParams]):
    """A whole datacenter's selected containers killed, cut off, removed, their own volumes destroyed."""

    destructive = True
    backends = ("compose", "inventory")
    needs = ("iptables (on hosts)",)

    def check_targets(self, targets: Sequence[TargetRef], stack: Stack) -> None:
        wanted = self.params.destroy_data
        if not wanted:
            return
        if not isinstance(stack, InventoryStack):
            raise InvalidInput("datacenter-fire: `destroy_data` is for an inventory's hosts; on compose the fire "
                               "destroys the volumes labelled entchaos.chaos=allowed (plan lists them)",
                               fix="remove `destroy_data` from the step, or run it with --inventory")
        self._data_dirs(targets, stack)

    def _data_dirs(self, targets: Sequence[TargetRef], stack: InventoryStack) -> dict[str, list[str]]:
        """host -> the data directories `destroy_data` names there; `InvalidInput` for a service that is not a
        target, declares no data directory, or whose host does not allow it."""
        burning = {t.service: t.name for t in targets}
        dirs: dict[str, list[str]] = {}
        for service in self.params.destroy_data:
            if service not in burning:
                raise InvalidInput(f"datacenter-fire: destroy_data names {service}, which the fire does not burn "
                                   f"(its targets: {', '.join(sorted(burning)) or 'none'})", where=str(stack.path),
                                   fix="name only services of the burning datacenter")
            host = stack.host(burning[service])
            declared = next((s.data_dirs for s in host.services if s.name == service), ())
            if not host.destroy_allowed:
                raise InvalidInput(f"datacenter-fire: host {host.name} does not allow its data destroyed ({service})",
                                   where=str(stack.path), fix="mark the host `entchaos_destroy_data: allowed` in the "
                                   "inventory, or leave the service out of destroy_data")
            if not declared:
                raise InvalidInput(f"datacenter-fire: {service} on {host.name} declares no data_dirs to destroy",
                                   where=str(stack.path), fix="declare them in entchaos_services (docs/fleet.md)")
            dirs.setdefault(host.name, []).extend(declared)
        return dirs

    def prepare(self, ctx: FaultContext) -> dict:
        datacenters = {t.datacenter for t in ctx.targets}
        if len(datacenters) != 1:
            raise FaultError(
                f"a fire burns one datacenter; the targets span {sorted(datacenters) or 'none'}",
                fix="select the targets with `datacenter: <name>` only",
            )
        datacenter = datacenters.pop()
        if hosts := on_inventory(ctx.stack):
            return {"datacenter": datacenter, "hosts": sorted({t.name for t in ctx.targets}),
                    "data_dirs": self._data_dirs(ctx.targets, hosts)}
        self.check_targets(ctx.targets, ctx.stack)
        volumes = containers.destroyable_volumes(t.id for t in ctx.targets)
        return {
            "datacenter": datacenter,
            "networks": {t.id: containers.networks_of(t.id) for t in ctx.targets if containers.exists(t.id)},
            "volumes": list(volumes.destroy),
            "volumes_kept": volumes.kept,
        }

    def describe(self, targets: Sequence[TargetRef], stack: Stack | None = None) -> str:
        """What burns, for `plan`: every container and every volume it will destroy, and the volumes it keeps."""
        if stack is not None and stack.backend == "inventory":
            hosts = sorted({t.name for t in targets})
            doomed = ", ".join(self.params.destroy_data) or "nothing (the rebuild empties the declared data_dirs)"
            return (f"{self.name}: cuts off hosts {', '.join(hosts) or 'none'} (SSH aside) and kills "
                    f"{target_names(targets, stack)}; destroys the data of {doomed}")
        volumes = containers.destroyable_volumes(t.id for t in targets)
        kept = "; ".join(f"{v} ({why})" for v, why in volumes.kept.items())
        return (f"{self.name}: destroys containers {', '.join(t.service for t in targets) or 'none'}; "
                f"destroys volumes {', '.join(volumes.destroy) or 'none'}" + (f"; keeps {kept}" if kept else ""))

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "fire", ctx.targets)
            if dirs := ctx.record.state.get("data_dirs"):
                host_network.run_script(hosts, dirs, "destroy_data", dirs)
            log.info("datacenter_burned", datacenter=ctx.record.state["datacenter"], hosts=ctx.record.state["hosts"],
                     data_dirs=dirs)
            return ctx.record
        ids = [t.id for t in ctx.targets]
        # All at once: a fire does not stop the database politely after the apps.
        with ThreadPoolExecutor(max_workers=max(1, len(ids))) as pool:
            list(pool.map(containers.kill, ids))
        for container_id, networks in ctx.record.state["networks"].items():
            for network in networks:
                containers.disconnect(container_id, network)
        for container_id in ids:
            containers.remove(container_id)
        for volume in ctx.record.state["volumes"]:
            containers.remove_volume(volume)
        log.info("datacenter_burned", datacenter=ctx.record.state["datacenter"], containers=len(ids),
                 volumes=len(ctx.record.state["volumes"]))
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        """Finish a fire cut short: remove what the fire selected (volumes stay: the rebuild destroys them).

        A signal during `inject` can leave the datacenter half burned (a kill still landing, the primary still
        up); the repair steps expect it gone. Failing the database over and rebuilding the datacenter are the
        runbook's own steps (`reverted_by`), which the engine and `entchaos recover` run after this.
        """
        if not record.state.get("datacenter"):
            return  # nothing was prepared: nothing burned
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "fire", record.targets)
            if dirs := record.state.get("data_dirs"):
                host_network.run_script(hosts, dirs, "destroy_data", dirs)
            return
        for target in record.targets:
            containers.remove(target.id)  # forced: a SIGKILL to what still runs, then gone

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every burned container is gone (or at least not running) and every destroyed volume is gone; on hosts,
        every target service stopped and every host cut off."""
        if hosts := on_inventory(ctx.stack):
            dirs = record.state.get("data_dirs") or {}

            def on_hosts() -> Effect:
                states = service_states(hosts, record.targets)
                data = host_network.run_script(hosts, dirs, "data_state", dirs) if dirs else {}
                data_lines = sorted(line for said in data.values() for line in said.splitlines())
                burned = bool(states) and all(s.word == "stopped" and s.network == "cut" for s in states.values())
                return Effect(burned and all(line.endswith(" empty") for line in data_lines),
                              {"services": {k: s.word for k, s in states.items()},
                               "hosts_cut": sorted({k.split("/")[0] for k, s in states.items() if s.network == "cut"}),
                               **({"data_dirs": data_lines} if dirs else {})})

            return poll_effect(on_hosts, deadline_s=15, interval_s=0.5, abort=ctx.abort)

        def look() -> Effect:
            states = {t.service: containers.state(t.id) for t in record.targets}
            volumes = {v: containers.volume_exists(v) for v in record.state.get("volumes", [])}
            burned = bool(states) and all(s in ("gone", "exited", "dead") for s in states.values())
            return Effect(burned and not any(volumes.values()),
                          {"containers": states, "volumes_left": sorted(v for v, left in volumes.items() if left),
                           "volumes_destroyed": sorted(v for v, left in volumes.items() if not left)})

        return poll_effect(look, deadline_s=15, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """After the rebuild step: every service of the datacenter that burned runs again (new containers)."""
        datacenter = record.state.get("datacenter", "")
        burned = sorted({t.service for t in record.targets})
        if hosts := on_inventory(ctx.stack):
            def on_hosts() -> Effect:
                states = service_states(hosts, record.targets)
                cut = sorted({k.split("/")[0] for k, s in states.items() if s.network != "open"})
                return Effect(all(s.word == "running" and s.network == "open" for s in states.values()),
                              {"datacenter": datacenter, "services": {k: s.word for k, s in states.items()},
                               "hosts_cut": cut})

            return poll_effect(on_hosts, deadline_s=60, interval_s=1, abort=ctx.abort)

        def look() -> Effect:
            states = containers.datacenter_states(ctx.stack.project, datacenter)
            seen = {service: states.get(service, "missing") for service in burned}
            return Effect(all(s == "running" for s in seen.values()), {"datacenter": datacenter, "services": seen})

        return poll_effect(look, deadline_s=60, interval_s=0.5, abort=ctx.abort)
