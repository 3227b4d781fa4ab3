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
racks' inventory entries do. Nothing is destroyed by the fire: the rebuild (`playbooks/hosts/rebuild-datacenter.yml`)
reconnects the hosts and empties the databases' data directories that the inventory declares.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from chaos.errors import FaultError
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register, target_names
from chaos.faults.on_hosts import on_inventory, run_on_targets, service_states
from chaos.log import get_logger
from chaos.stack import containers
from chaos.stack.interface import Stack, TargetRef

log = get_logger(__name__)


@register("datacenter-fire")
class DatacenterFire(Fault):
    """A whole datacenter's selected containers killed, cut off, removed, their own volumes destroyed."""

    destructive = True
    backends = ("compose", "inventory")

    def prepare(self, ctx: FaultContext) -> dict:
        datacenters = {t.datacenter for t in ctx.targets}
        if len(datacenters) != 1:
            raise FaultError(
                f"a fire burns one datacenter; the targets span {sorted(datacenters) or 'none'}",
                fix="select the targets with `datacenter: <name>` only",
            )
        datacenter = datacenters.pop()
        if on_inventory(ctx.stack):
            return {"datacenter": datacenter, "hosts": sorted({t.name for t in ctx.targets})}
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
            return (f"{self.name}: cuts off hosts {', '.join(hosts) or 'none'} (SSH aside) and kills "
                    f"{target_names(targets, stack)}; destroys nothing (the rebuild empties the declared data_dirs)")
        volumes = containers.destroyable_volumes(t.id for t in targets)
        kept = "; ".join(f"{v} ({why})" for v, why in volumes.kept.items())
        return (f"{self.name}: destroys containers {', '.join(t.service for t in targets) or 'none'}; "
                f"destroys volumes {', '.join(volumes.destroy) or 'none'}" + (f"; keeps {kept}" if kept else ""))

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "fire", ctx.targets)
            log.info("datacenter_burned", datacenter=ctx.record.state["datacenter"], hosts=ctx.record.state["hosts"])
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
            return
        for target in record.targets:
            containers.remove(target.id)  # forced: a SIGKILL to what still runs, then gone

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every burned container is gone (or at least not running) and every destroyed volume is gone; on hosts,
        every target service stopped and every host cut off."""
        if hosts := on_inventory(ctx.stack):
            def on_hosts() -> Effect:
                states = service_states(hosts, record.targets)
                return Effect(bool(states) and all(s.word == "stopped" and s.network == "cut" for s in states.values()),
                              {"services": {k: s.word for k, s in states.items()},
                               "hosts_cut": sorted({k.split("/")[0] for k, s in states.items() if s.network == "cut"})})

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
