"""latency: the targets answer late, by `delay_ms` (± `jitter_ms`).

Two ways (`mode`):

- `proxy` (the default, works on any kernel): for one `port` of each target, new connections from elsewhere go
  through the fault proxy in the target's namespace (`chaos.stack.fault_proxy`), which holds every chunk of the
  answer back. Effect: the median time to the first answer byte of 20 fresh requests from a peer, through the
  port, rises by at least 0.8x `delay_ms` over the same measurement before; after the revert, by less than half.
- `netem`: netem delays every packet of every interface. Many kernels (this one) lack netem: refused before the
  run. Its effect check (the median TCP connect time to a peer rises by 0.8x `delay_ms`) could not be tested here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import InvalidInput
from chaos.faults._netns_fault import EACH_IFACE, NetnsFault, peer_for
from chaos.faults._proxy_fault import ProxyFault
from chaos.faults.base import Effect, FaultContext, FaultRecord, register
from chaos.stack.interface import Stack
from chaos.stack.netns import NetnsAgent, require_qdisc

CONNECTS = 20
REQUESTS = 20  # fresh requests through the proxied port, per measurement
TIMEOUT_S = 10.0


class LatencyParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    delay_ms: int = Field(ge=1, le=60_000, strict=True)
    jitter_ms: int = Field(default=0, ge=0, le=60_000, strict=True)
    mode: Literal["proxy", "netem"] = Field(
        "proxy", description="proxy: through a proxy on `port`, any kernel; netem: every packet, needs sch_netem")
    port: int | None = Field(None, ge=1, le=65535, strict=True,
                             description="proxy mode: the target's port whose answers are delayed")
    network: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64,
                                description="netem mode: only the interface on this compose network")

    @model_validator(mode="after")
    def _port_for_proxy(self) -> LatencyParams:
        if self.mode == "proxy" and self.port is None:
            raise ValueError("mode proxy delays one port: name it (`port: 80`), or use `mode: netem`")
        if self.mode == "netem" and self.port is not None:
            raise ValueError("mode netem delays every packet: `port` is for mode proxy")
        if self.mode == "proxy" and self.network is not None:
            raise ValueError("mode proxy delays one port on every network: `network` is for mode netem")
        if self.jitter_ms > self.delay_ms:
            raise ValueError("jitter_ms is larger than delay_ms: a delay is never negative")
        return self


@register("latency")
class Latency(ProxyFault[LatencyParams]):
    """The targets' answers on `port` held back `delay_ms` (± `jitter_ms`) by a proxy; or, with `mode: netem`,
    every packet of every interface delayed."""

    needs = ("iptables-redirect (mode proxy)", "netem (mode netem)")

    def check_supported(self, stack: Stack) -> None:
        if self.params.mode == "netem":
            require_qdisc("netem", self.name)

    # proxy mode
    def rules(self) -> dict[str, Any]:
        return {"delay_ms": self.params.delay_ms, "jitter_ms": self.params.jitter_ms}

    def port(self) -> int:
        if self.params.port is None:
            raise InvalidInput("latency: mode proxy needs `port`")
        return self.params.port

    def probe(self, agent: NetnsAgent, address: str, record: FaultRecord) -> dict[str, Any]:
        return agent.run("ttfb", address, record.state.get("port", self.params.port), REQUESTS, TIMEOUT_S)

    # netem mode: the packet-level fault, run as the other netns faults are
    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        if self.params.mode == "netem":
            return {"mode": "netem", **_Netem(self.params.model_dump()).prepare(ctx)}
        return super().prepare(ctx)

    def inject(self, ctx: FaultContext) -> FaultRecord:
        if self.params.mode == "netem":
            return _Netem(self.params.model_dump()).inject(ctx)
        return super().inject(ctx)

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        if record.state.get("mode") == "netem":
            _Netem(self.params.model_dump()).revert(ctx, record)
            return
        super().revert(ctx, record)

    def _added(self, record: FaultRecord) -> tuple[dict[str, dict], list[float]]:
        seen = self.measure(record)
        added = []
        for s in seen.values():
            before, now = s["before"].get("median_ms"), s["now"].get("median_ms")
            s["added_ms"] = round(now - before, 2) if before is not None and now is not None else None
            added.append(s["added_ms"] if s["added_ms"] is not None else float("nan"))
        return seen, added

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The median time to the first answer byte through the port rose by at least 0.8x `delay_ms`."""
        if record.state.get("mode") == "netem":
            return _Netem(self.params.model_dump()).check_effect(ctx, record)
        seen, added = self._added(record)
        floor = 0.8 * self.params.delay_ms
        return Effect(bool(added) and all(a >= floor for a in added),
                      {"delay_ms": self.params.delay_ms, "min_added_ms": floor, "targets": seen})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same median is back within half of `delay_ms` of what it was, and no REDIRECT is left."""
        if record.state.get("mode") == "netem":
            return _Netem(self.params.model_dump()).check_reverted(ctx, record)
        seen, added = self._added(record)
        ceiling = 0.5 * self.params.delay_ms
        clean = all(not s["redirected_ports"] for s in seen.values())
        return Effect(clean and bool(added) and all(a < ceiling for a in added),
                      {"delay_ms": self.params.delay_ms, "max_added_ms": ceiling, "targets": seen})


class _Netem(NetnsFault[LatencyParams]):
    """netem on every interface: `latency` with `mode: netem` (not registered on its own)."""

    name = "latency"

    def apply_script(self) -> str:
        p = self.params
        return EACH_IFACE.format(cmd=f'tc qdisc replace dev "$i" root netem delay {p.delay_ms}ms {p.jitter_ms}ms')

    def revert_script(self) -> str:
        return EACH_IFACE.format(cmd='tc qdisc del dev "$i" root 2>/dev/null || true')

    def _rtts(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        measured = {}
        for target in record.targets:
            peer = peer_for(ctx, record, target, self.params.network)
            with NetnsAgent(peer.id) as there, NetnsAgent(target.id) as here:
                measured[target.service] = {**peer.describe(), **here.run("rtt", peer.address, there.port, CONNECTS)}
        return measured

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        measured = self._rtts(ctx, record)
        floor = 0.8 * self.params.delay_ms
        return Effect(all((m["median_ms"] or 0) >= floor for m in measured.values()),
                      {"delay_ms": self.params.delay_ms, "min_median_ms": floor, "targets": measured})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        measured = self._rtts(ctx, record)
        ceiling = 0.5 * self.params.delay_ms
        return Effect(all(m["median_ms"] is not None and m["median_ms"] < ceiling for m in measured.values()),
                      {"delay_ms": self.params.delay_ms, "max_median_ms": ceiling, "targets": measured})

