"""bandwidth: a token bucket (tbf) caps every interface of the targets.

Its effect is measured: a timed TCP transfer from the target's namespace to a peer's (through the shaped
interface), about two seconds' worth at the cap, must run at no more than 1.2x the cap; after the revert the
same transfer runs well above it (or no tbf is left).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import EACH_IFACE, NetnsFault, peer_for
from chaos.faults.base import Effect, FaultContext, FaultRecord, register
from chaos.stack.interface import Stack
from chaos.stack.netns import NetnsAgent, require_qdisc, run_in_netns

MAX_RATIO = 1.2  # measured / cap, at most, while shaped
MIN_RATIO_AFTER = 2.0  # measured / cap, at least, once reverted
TRANSFER_S = 2.0  # how long the measured transfer lasts at the cap
MAX_BYTES = 64 << 20


class BandwidthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_kbit: int = Field(ge=8, le=100_000_000, strict=True, description="the cap, in kbit/s (at most 100 Gbit/s)")
    burst_kbit: int = Field(default=32, ge=1, le=1_000_000, strict=True)
    latency_ms: int = Field(default=400, ge=1, le=60_000, strict=True,
                            description="how long a packet may wait in the bucket")


@register("bandwidth")
class Bandwidth(NetnsFault[BandwidthParams]):
    """A token bucket caps every interface of the targets at `rate_kbit`."""

    def check_supported(self, stack: Stack) -> None:
        require_qdisc("tbf", self.name)

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(
            cmd=f'tc qdisc replace dev "$i" root tbf rate {p.rate_kbit}kbit burst {p.burst_kbit}kbit '
            f"latency {p.latency_ms}ms"
        )

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')

    def _transfers(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        p = self.params
        nbytes = min(MAX_BYTES, int(p.rate_kbit * 125 * TRANSFER_S) + p.burst_kbit * 125)
        timeout_s = 3 * nbytes * 8 / (p.rate_kbit * 1000) + 10
        measured = {}
        for target in record.targets:
            peer = peer_for(ctx, record, target)
            with NetnsAgent(peer.id) as sink, NetnsAgent(target.id) as source:
                sent = source.run("send", peer.address, sink.port, nbytes, timeout_s)
            shaped = "tbf" in run_in_netns(target.id, "tc qdisc show")
            measured[target.service] = {**peer.describe(), **sent, "limit_kbit": p.rate_kbit,
                                        "ratio": round(sent["kbit_s"] / p.rate_kbit, 3), "tbf_present": shaped}
        return measured

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """A timed transfer from each target to a peer runs at most 1.2x `rate_kbit`."""
        measured = self._transfers(ctx, record)
        return Effect(all(m["ratio"] <= MAX_RATIO for m in measured.values()),
                      {"max_ratio": MAX_RATIO, "targets": measured})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same transfer runs above 2x `rate_kbit` (or, for a cap above what the link does, no tbf is left)."""
        measured = self._transfers(ctx, record)
        return Effect(all(m["ratio"] >= MIN_RATIO_AFTER or not m["tbf_present"] for m in measured.values()),
                      {"min_ratio": MIN_RATIO_AFTER, "targets": measured})
