"""kill: some (or all) containers of the targets die at once; revert starts them again."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults.base import Fault, FaultContext, FaultRecord, register
from chaos.stack import containers


class KillParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signal: str = "SIGKILL"
    count: int | None = Field(default=None, ge=1, description="how many of the targets (default: all)")


@register("kill")
class Kill(Fault):
    Params = KillParams

    def prepare(self, ctx: FaultContext) -> dict:
        chosen = ctx.targets[: self.params.count] if self.params.count else ctx.targets
        return {"killed": [t.id for t in chosen]}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for container_id in ctx.record.state["killed"]:
            containers.kill(container_id, self.params.signal)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for container_id in record.state.get("killed", []):
            containers.start(container_id)
