"""Shared shape of the faults served by the fault proxy (`chaos.stack.fault_proxy`): `latency` in proxy mode and
`http-fault`. Each target gets its own proxy helper (named in `prepare`, so a revert after a crash finds it) and a
REDIRECT of one port; the effect checks send requests from a peer through that port, before and after."""

from __future__ import annotations

import time
import uuid
from typing import Any

from chaos.faults._netns_fault import peer_for
from chaos.faults.base import Fault, FaultContext, FaultRecord, P
from chaos.stack import containers, fault_proxy
from chaos.stack.netns import NetnsAgent


class ProxyFault(Fault[P]):
    """Subclasses give the proxy's `rules()` and the `port` they apply to; inject and revert are shared."""

    def rules(self) -> dict[str, Any]:
        raise NotImplementedError

    def port(self) -> int:
        raise NotImplementedError

    def probe(self, agent: NetnsAgent, address: str, record: FaultRecord) -> dict[str, Any]:
        """What one target looks like from its peer now (the subclass's measurement)."""
        raise NotImplementedError

    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        peers, before = {}, {}
        for target in ctx.targets:
            peer = peer_for(ctx, ctx.record, target)
            peers[target.id] = {"id": peer.id, "service": peer.service, "address": peer.target_address}
            with NetnsAgent(peer.id) as agent:
                before[target.id] = self.probe(agent, peer.target_address, ctx.record)
        return {"port": self.port(), "rules": self.rules(), "peers": peers, "before": before,
                "helpers": {t.id: f"entchaos-proxy-{uuid.uuid4().hex[:12]}" for t in ctx.targets}}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        state = ctx.record.state
        for target in ctx.targets:
            fault_proxy.start(target.id, state["helpers"][target.id], state["rules"])
            fault_proxy.redirect(target.id, state["port"])
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target_id, helper in (record.state.get("helpers") or {}).items():
            if containers.is_running(target_id):  # first the path back to the service, then the proxy
                fault_proxy.unredirect(target_id)
            fault_proxy.stop(helper)

    def measure(self, record: FaultRecord) -> dict[str, dict[str, Any]]:
        """Each target as its peer sees it through the port now, with what its proxy counted."""
        seen = {}
        names = {t.id: t.service for t in record.targets}
        for target_id, peer in record.state["peers"].items():
            with NetnsAgent(peer["id"]) as agent:
                now = self.probe(agent, peer["address"], record)
            time.sleep(3 * fault_proxy.REPORT_S)  # the proxy's counts include this probe's connections
            seen[names.get(target_id, target_id[:12])] = {
                "peer": peer["service"], "port": record.state["port"], "before": record.state["before"][target_id],
                "now": now, "proxy_counts": fault_proxy.counts(record.state["helpers"][target_id]),
                "redirected_ports": fault_proxy.redirected_ports(target_id)
                if containers.is_running(target_id) else []}
        return seen
