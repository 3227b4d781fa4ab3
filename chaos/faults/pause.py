"""pause: the targets freeze (cgroup freezer): alive to the kernel, silent to everyone else."""

from __future__ import annotations

from chaos.faults.base import Fault, FaultContext, FaultRecord, register
from chaos.stack import containers


@register("pause")
class Pause(Fault):
    def inject(self, ctx: FaultContext) -> FaultRecord:
        for target in ctx.targets:
            containers.pause(target.id)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target in record.targets:
            containers.unpause(target.id)
