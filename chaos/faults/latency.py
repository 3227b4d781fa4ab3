"""latency: netem delay on every interface. Many kernels (this one) lack netem: refused before the run."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import EACH_IFACE, NetnsFault
from chaos.faults.base import register
from chaos.stack.netns import require_qdisc


class LatencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_ms: int = Field(ge=1)
    jitter_ms: int = Field(default=0, ge=0)


@register("latency")
class Latency(NetnsFault):
    Params = LatencyParams

    def check_supported(self, stack) -> None:
        require_qdisc("netem", self.name)

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(cmd=f'tc qdisc replace dev "$i" root netem delay {p.delay_ms}ms {p.jitter_ms}ms')

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')
