"""packet-loss: iptables drops a random share of packets in and out (statistic match)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import NetnsFault
from chaos.faults.base import register

TAG = "entchaos-packet-loss"


class PacketLossParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float = Field(gt=0, le=100)
    peer_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="only the TCP connections this container opened to that port (e.g. 5432: a standby's "
        "replication stream), leaving connections to its own ports alone",
    )


@register("packet-loss")
class PacketLoss(NetnsFault):
    Params = PacketLossParams

    def apply_script(self) -> str:
        p = self.params.percent / 100
        rule = f"-m statistic --mode random --probability {p:.4f} -m comment --comment {TAG} -j DROP"
        port = self.params.peer_port
        inbound, outbound = (f"-p tcp --sport {port} ", f"-p tcp --dport {port} ") if port else ("", "")
        # Loopback is not the network: the container's own health checks must not lose packets.
        return f"iptables -I INPUT ! -i lo {inbound}{rule} && iptables -I OUTPUT ! -o lo {outbound}{rule}"

    def revert_script(self) -> str:
        # Delete every rule we tagged, however many runs left them: idempotent.
        return f"iptables-save | grep -v -- '--comment {TAG}' | iptables-restore"
