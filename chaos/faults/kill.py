"""kill: the targets die at once; revert starts them again. How many of the matches: the step's `count`.

On an inventory's hosts the signal goes to every process of the target service and the revert starts it through
the host's init system (`chaos.faults.on_hosts`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register
from chaos.faults.on_hosts import on_inventory, run_on_targets, service_states
from chaos.stack import containers

STOPPED = ("exited", "dead", "gone")


class KillParams(BaseModel):
    """The signal; how many containers is the step's blast radius (`count`), as for every fault."""

    model_config = ConfigDict(extra="forbid")
    signal: Literal["SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGABRT"] = Field(
        "SIGKILL", description="a signal that ends a process (the effect check wants the container stopped)")


@register("kill")
class Kill(Fault):
    """Send the targets a signal that ends them (SIGKILL by default); revert starts them again."""

    Params = KillParams
    backends = ("compose", "inventory")

    def prepare(self, ctx: FaultContext) -> dict:
        return {"killed": [t.id for t in ctx.targets]}  # already cut to the step's `count` (blast radius)

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "signal", ctx.targets, signal=self.params.signal.removeprefix("SIG"))
            return ctx.record
        for container_id in ctx.record.state["killed"]:
            containers.kill(container_id, self.params.signal)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "start", record.targets)
            return
        for container_id in record.state.get("killed", []):
            containers.start(container_id)

    def _states(self, ctx: FaultContext, record: FaultRecord) -> dict[str, str]:
        if hosts := on_inventory(ctx.stack):
            return {key: s.container_word
                    for key, s in service_states(hosts, record.targets).items()}
        names = {t.id: t.service for t in record.targets}
        return {names.get(cid, cid[:12]): containers.state(cid) for cid in record.state.get("killed", [])}

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every killed container is no longer running (a signal may take a moment to land: up to 15 s)."""
        def look() -> Effect:
            states = self._states(ctx, record)
            return Effect(bool(states) and all(s in STOPPED for s in states.values()), {"states": states})

        return poll_effect(look, deadline_s=15, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every killed container runs again."""
        def look() -> Effect:
            states = self._states(ctx, record)
            return Effect(all(s == "running" for s in states.values()), {"states": states})

        return poll_effect(look, deadline_s=30, abort=ctx.abort)
