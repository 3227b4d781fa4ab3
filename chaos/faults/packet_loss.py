"""packet-loss: iptables drops a random share of packets in and out (statistic match).

Its effect is measured with real probe packets through the filtered path, between each target and a peer:
2000 tagged UDP datagrams each way, counted where they arrive (the two one-way losses must be within 5 points
of `percent`: at 50 % one standard deviation is 1.1 points); with `peer_port`, 2000 TCP connects to the peer's
port (SYN out, SYN-ACK or RST back: a round trip, so the per-packet loss is 1 - sqrt(answered share)).
After the revert the same probes lose at most 2 %.

On an inventory's hosts the same rules go on the targets' hosts (their SSH server aside); the probe is the TCP
connects' round trip, from each target host to a peer host's closed port (a reset answers) or to `peer_port`.
"""

from __future__ import annotations

import math
import uuid

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults import host_network
from chaos.faults._netns_fault import EACH_IFACE, NetnsFault, peer_for
from chaos.faults.base import Effect, FaultContext, FaultRecord, TargetRef, register
from chaos.faults.on_hosts import on_inventory
from chaos.stack.netns import NetnsAgent

TAG = "entchaos-packet-loss"
PROBES = 2000  # per direction
GAP_S = 0.0005  # between datagrams: the receiver keeps up, so only the rule drops
TOLERANCE = 0.05  # measured vs requested share, while injected
RESIDUAL = 0.02  # at most, once reverted
SYN_TIMEOUT_S = 0.8  # below the 1 s SYN retransmission: a lost SYN or SYN-ACK is not retried in time
SYN_BATCH = 250  # at a time: within a listener's usual backlog (nginx: 511)


class PacketLossParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    percent: float = Field(gt=0, le=100, strict=True, allow_inf_nan=False)
    peer_port: int | None = Field(
        default=None, ge=1, le=65535, strict=True,
        description="only the TCP connections this container opened to that port (e.g. 5432: a standby's "
        "replication stream), leaving connections to its own ports alone",
    )
    network: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64,
                                description="only the interface on this compose network (default: every one)")


@register("packet-loss")
class PacketLoss(NetnsFault[PacketLossParams]):
    """iptables drops `percent` of the targets' packets, both ways (or only those of one TCP peer port)."""

    backends = ("compose", "inventory")
    host_script = "packet_loss"
    needs = ("iptables-statistic",)

    def host_args(self) -> list[object]:
        return [f"{self.params.percent / 100:.4f}", self.params.peer_port or "-"]

    def prepare(self, ctx: FaultContext) -> dict:
        if hosts := on_inventory(ctx.stack):
            return {"peers": host_network.choose_peer(hosts, ctx.targets)}
        return super().prepare(ctx)

    def _measure_hosts(self, ctx: FaultContext, record: FaultRecord) -> dict[str, dict]:
        """Per target host: the round-trip loss of TCP connects to its peer, as a per-packet loss."""
        hosts = on_inventory(ctx.stack)
        assert hosts is not None
        peers = record.state["peers"]
        port = self.params.peer_port or host_network.CLOSED_PORT
        answers = host_network.probe(hosts, peers, probes={
            h: [["syn", p["address"], port, PROBES, SYN_TIMEOUT_S, SYN_BATCH]] for h, p in peers.items()}).answers
        measured = {}
        for host, peer in peers.items():
            r = answers[host][0]
            round_trip = 1 - r["answered"] / r["tried"]
            measured[host] = {**peer, "probe": f"tcp connects to port {port}", **r,
                              "round_trip_loss": round(round_trip, 4),
                              "losses": [round(1 - math.sqrt(1 - round_trip), 4)]}
        return measured

    def apply_script(self) -> str:
        p = self.params.percent / 100
        rule = f"-m statistic --mode random --probability {p:.4f} -m comment --comment {TAG} -j DROP"
        port = self.params.peer_port
        inbound, outbound = (f"-p tcp --sport {port} ", f"-p tcp --dport {port} ") if port else ("", "")
        # Each interface in $IFACES (never loopback: the container's own health checks must not lose packets).
        return EACH_IFACE.format(cmd=f'iptables -I INPUT -i "$i" {inbound}{rule} && '
                                     f'iptables -I OUTPUT -o "$i" {outbound}{rule}')

    def revert_script(self) -> str:
        # Delete every rule we tagged, however many runs left them: idempotent.
        return f"iptables-save | grep -v -- '--comment {TAG}' | iptables-restore"

    def _measure(self, ctx: FaultContext, record: FaultRecord, target: TargetRef) -> dict:
        """The measured loss share(s) between the target and a peer: {"losses": [...], ...evidence}."""
        peer = peer_for(ctx, record, target, self.params.network)
        port = self.params.peer_port
        if port:
            with NetnsAgent(target.id) as here:
                r = here.run("syn", peer.address, port, PROBES, SYN_TIMEOUT_S, SYN_BATCH)
            round_trip = 1 - r["answered"] / r["tried"]
            loss = 1 - math.sqrt(1 - round_trip)
            return {**peer.describe(), "probe": f"tcp connects to port {port}", **r,
                    "round_trip_loss": round(round_trip, 4), "losses": [round(loss, 4)]}
        tag = uuid.uuid4().hex[:8]
        with NetnsAgent(target.id) as here, NetnsAgent(peer.id) as there:
            out = here.run("udp", peer.address, there.port, PROBES, GAP_S, f"out-{tag}")
            got_out = there.run("count", there.port, f"out-{tag}")["received"]
            back = there.run("udp", peer.target_address, here.port, PROBES, GAP_S, f"in-{tag}")
            got_in = here.run("count", here.port, f"in-{tag}")["received"]
        loss_out, loss_in = 1 - got_out / PROBES, 1 - got_in / PROBES
        return {**peer.describe(), "probe": "udp datagrams", "sent_each_way": PROBES,
                "received_out": got_out, "received_in": got_in, "refused_at_send_out": out["send_errors"],
                "refused_at_send_in": back["send_errors"],
                "loss_out": round(loss_out, 4), "loss_in": round(loss_in, 4), "losses": [round(loss_out, 4),
                                                                                        round(loss_in, 4)]}

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The loss measured each way is within 5 points of `percent`."""
        wanted = self.params.percent / 100
        measured = (self._measure_hosts(ctx, record) if on_inventory(ctx.stack)
                    else {t.service: self._measure(ctx, record, t) for t in record.targets})
        ok = all(abs(loss - wanted) <= TOLERANCE for m in measured.values() for loss in m["losses"])
        if on_inventory(ctx.stack):  # estimated from round trips: 1 - sqrt(answered share), q = (1 - p)^2 answered
            sd = math.sqrt((1 - (1 - wanted) ** 2) / PROBES) / 2
        else:
            sd = math.sqrt(wanted * (1 - wanted) / PROBES)
        return Effect(ok, {"requested": wanted, "tolerance": TOLERANCE, "one_sd": round(sd, 4),
                           "targets": measured})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The same probes lose at most 2 %."""
        measured = (self._measure_hosts(ctx, record) if on_inventory(ctx.stack)
                    else {t.service: self._measure(ctx, record, t) for t in record.targets})
        ok = all(loss <= RESIDUAL for m in measured.values() for loss in m["losses"])
        return Effect(ok, {"max_loss": RESIDUAL, "targets": measured})
