"""bandwidth: a token bucket (tbf) caps every interface of the targets.

Its effect is measured: a timed TCP transfer from the target's namespace to a peer's (through the shaped
interface), about two seconds' worth at the cap, must run at no more than 1.2x the cap; after the revert the
same transfer runs well above it (or no tbf is left).

On an inventory's hosts the token bucket caps every interface of the targets' hosts but loopback; the transfer runs
from each target host to a sink served for a bounded time on a peer host.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults import host_network
from chaos.faults._netns_fault import EACH_IFACE, NetnsFault, peer_for
from chaos.faults.base import Effect, FaultContext, FaultRecord, register
from chaos.faults.on_hosts import on_inventory
from chaos.stack.interface import Stack
from chaos.stack.netns import NetnsAgent, require_qdisc, run_in_netns

MAX_RATIO = 1.2  # measured / cap, at most, while shaped
MIN_RATIO_AFTER = 2.0  # measured / cap, at least, once reverted
TRANSFER_S = 2.0  # how long the measured transfer lasts at the cap
MAX_BYTES = 64 << 20
SINK_PORT = 47999  # the sink served on a peer host for the transfer


class BandwidthParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate_kbit: int = Field(ge=8, le=100_000_000, strict=True, description="the cap, in kbit/s (at most 100 Gbit/s)")
    burst_kbit: int = Field(default=32, ge=1, le=1_000_000, strict=True)
    latency_ms: int = Field(default=400, ge=1, le=60_000, strict=True,
                            description="how long a packet may wait in the bucket")
    network: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64,
                                description="only the interface on this compose network (default: every one)")


@register("bandwidth")
class Bandwidth(NetnsFault[BandwidthParams]):
    """A token bucket caps every interface of the targets at `rate_kbit`."""

    backends = ("compose", "inventory")
    host_script = "bandwidth"
    needs = ("tbf",)

    def host_args(self) -> list[object]:
        return [self.params.rate_kbit, self.params.burst_kbit, self.params.latency_ms]

    def check_supported(self, stack: Stack) -> None:
        if stack.backend == "compose":  # on hosts, tc says at inject whether the host has tbf
            require_qdisc("tbf", self.name)

    def prepare(self, ctx: FaultContext) -> dict:
        if hosts := on_inventory(ctx.stack):
            return {"peers": host_network.choose_peer(hosts, ctx.targets)}
        return super().prepare(ctx)

    def _size(self) -> tuple[int, float]:
        """The transfer's bytes (about two seconds at the cap) and its timeout."""
        p = self.params
        nbytes = min(MAX_BYTES, int(p.rate_kbit * 125 * TRANSFER_S) + p.burst_kbit * 125)
        return nbytes, 3 * nbytes * 8 / (p.rate_kbit * 1000) + 10

    def _transfers_hosts(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        hosts = on_inventory(ctx.stack)
        assert hosts is not None
        nbytes, timeout_s = self._size()
        peers = record.state["peers"]
        said = host_network.probe(hosts, [*peers, *(p["peer"] for p in peers.values())],
                                  listen={p["peer"]: SINK_PORT for p in peers.values()}, listen_s=int(timeout_s) + 30,
                                  probes={h: [["send", p["address"], SINK_PORT, nbytes, timeout_s]]
                                          for h, p in peers.items()})
        return {host: {**peer, **said.answers[host][0], "limit_kbit": self.params.rate_kbit,
                       "ratio": round(said.answers[host][0]["kbit_s"] / self.params.rate_kbit, 3),
                       "tbf_present": "bandwidth" in said.leftovers.get(host, [])}
                for host, peer in peers.items()}

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(
            cmd=f'tc qdisc replace dev "$i" root tbf rate {p.rate_kbit}kbit burst {p.burst_kbit}kbit '
            f"latency {p.latency_ms}ms"
        )

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')

    def _transfers(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        if on_inventory(ctx.stack):
            return self._transfers_hosts(ctx, record)
        p = self.params
        nbytes, timeout_s = self._size()
        measured = {}
        for target in record.targets:
            peer = peer_for(ctx, record, target, self.params.network)
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
