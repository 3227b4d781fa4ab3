"""pause: the targets freeze (cgroup freezer): alive to the kernel, silent to everyone else."""

from __future__ import annotations

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register
from chaos.params import NoParams
from chaos.stack import containers


def _look(record: FaultRecord, wanted: str) -> Effect:
    states = {t.service: containers.state(t.id) for t in record.targets}
    return Effect(bool(states) and all(s == wanted for s in states.values()), {"states": states})


@register("pause")
class Pause(Fault[NoParams]):
    """The targets' processes are frozen (`docker pause`) until the revert."""

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for target in ctx.targets:
            containers.pause(target.id)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target in record.targets:
            containers.unpause(target.id)

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every target's state is `paused`."""
        return poll_effect(lambda: _look(record, "paused"), deadline_s=5, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every target's state is `running` again."""
        return poll_effect(lambda: _look(record, "running"), deadline_s=10, abort=ctx.abort)
