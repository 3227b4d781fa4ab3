"""bandwidth: a token bucket (tbf) caps every interface of the targets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import EACH_IFACE, NetnsFault
from chaos.faults.base import register
from chaos.stack.netns import require_qdisc


class BandwidthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_kbit: int = Field(ge=8, description="the cap, in kbit/s")
    burst_kbit: int = Field(default=32, ge=1)
    latency_ms: int = Field(default=400, ge=1, description="how long a packet may wait in the bucket")


@register("bandwidth")
class Bandwidth(NetnsFault):
    Params = BandwidthParams

    def check_supported(self, stack) -> None:
        require_qdisc("tbf", self.name)

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(
            cmd=f'tc qdisc replace dev "$i" root tbf rate {p.rate_kbit}kbit burst {p.burst_kbit}kbit '
            f"latency {p.latency_ms}ms"
        )

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')
