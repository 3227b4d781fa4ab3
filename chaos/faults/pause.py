"""pause: the targets freeze (cgroup freezer): alive to the kernel, silent to everyone else.

On an inventory's hosts every process of the target service gets SIGSTOP, and SIGCONT on revert.
"""

from __future__ import annotations

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register
from chaos.faults.on_hosts import on_inventory, run_on_targets, service_states
from chaos.params import NoParams
from chaos.stack import containers


def _look(ctx: FaultContext, record: FaultRecord, wanted: str) -> Effect:
    if hosts := on_inventory(ctx.stack):
        states = {key: s.container_word
                  for key, s in service_states(hosts, record.targets).items()}
    else:
        states = {t.service: containers.state(t.id) for t in record.targets}
    return Effect(bool(states) and all(s == wanted for s in states.values()), {"states": states})


@register("pause")
class Pause(Fault[NoParams]):
    """The targets' processes are frozen (`docker pause`; SIGSTOP on hosts) until the revert."""

    backends = ("compose", "inventory")

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "signal", ctx.targets, signal="STOP")
            return ctx.record
        for target in ctx.targets:
            containers.pause(target.id)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if hosts := on_inventory(ctx.stack):
            run_on_targets(hosts, "signal", record.targets, signal="CONT")
            return
        for target in record.targets:
            containers.unpause(target.id)

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every target's state is `paused`."""
        return poll_effect(lambda: _look(ctx, record, "paused"), deadline_s=5, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every target's state is `running` again."""
        return poll_effect(lambda: _look(ctx, record, "running"), deadline_s=10, abort=ctx.abort)
