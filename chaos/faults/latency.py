"""latency: netem delay on every interface. Many kernels (this one) lack netem: refused before the run.

Its effect check (the median of 20 TCP connect times from the target to a peer goes up by at least 80 % of
`delay_ms`; after the revert, by less than half of it) could not be tested on this machine: no netem here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults._netns_fault import EACH_IFACE, NetnsFault, peer_for
from chaos.faults.base import Effect, FaultContext, FaultRecord, register
from chaos.stack.interface import Stack
from chaos.stack.netns import NetnsAgent, require_qdisc

CONNECTS = 20


class LatencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_ms: int = Field(ge=1, le=60_000, strict=True)
    jitter_ms: int = Field(default=0, ge=0, le=60_000, strict=True)


@register("latency")
class Latency(NetnsFault[LatencyParams]):
    """netem delays every packet of the targets by `delay_ms` (± `jitter_ms`)."""

    def check_supported(self, stack: Stack) -> None:
        require_qdisc("netem", self.name)

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(cmd=f'tc qdisc replace dev "$i" root netem delay {p.delay_ms}ms {p.jitter_ms}ms')

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')

    def _rtts(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        measured = {}
        for target in record.targets:
            peer = peer_for(ctx, record, target)
            with NetnsAgent(peer.id) as there, NetnsAgent(target.id) as here:
                measured[target.service] = {**peer.describe(), **here.run("rtt", peer.address, there.port, CONNECTS)}
        return measured

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The median TCP connect time to a peer is at least 0.8x `delay_ms` (netem delays the SYN).

        Not tested on this machine: its kernel has no netem, so the fault is refused before any run.
        """
        measured = self._rtts(ctx, record)
        floor = 0.8 * self.params.delay_ms
        return Effect(all((m["median_ms"] or 0) >= floor for m in measured.values()),
                      {"delay_ms": self.params.delay_ms, "min_median_ms": floor, "targets": measured})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The median connect time is below half of `delay_ms` again (not tested here either: no netem)."""
        measured = self._rtts(ctx, record)
        ceiling = 0.5 * self.params.delay_ms
        return Effect(all(m["median_ms"] is not None and m["median_ms"] < ceiling for m in measured.values()),
                      {"delay_ms": self.params.delay_ms, "max_median_ms": ceiling, "targets": measured})
