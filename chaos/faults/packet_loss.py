"""packet-loss: iptables drops a random share of packets in and out (statistic match)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import NetnsFault
from chaos.faults.base import register

TAG = "entchaos-packet-loss"


class PacketLossParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float = Field(gt=0, le=100)


@register("packet-loss")
class PacketLoss(NetnsFault):
    Params = PacketLossParams

    def apply_script(self) -> str:
        p = self.params.percent / 100
        rule = f"-m statistic --mode random --probability {p:.4f} -m comment --comment {TAG} -j DROP"
        return f"iptables -I INPUT {rule} && iptables -I OUTPUT {rule}"

    def revert_script(self) -> str:
        # Delete every rule we tagged, however many runs left them: idempotent.
        return f"iptables-save | grep -v -- '--comment {TAG}' | iptables-restore"
