"""dns: name resolution fails, or answers a wrong address, for the targets: every name, or the names under `names`.

Through the target's own network namespace, so nothing in its image changes:

- `mode: fail`: iptables rejects the target's DNS queries (to port 53, and to Docker's embedded resolver at
  127.0.0.11 whatever port it was sent on); with `names`, only UDP queries whose question carries that name's
  labels (the `string` match: `names: db-sbg` matches `db-sbg` and `x.db-sbg`). A rejected query fails at once.
- `mode: answer`: a responder in the target's namespace (`dns_agent.py`, in a helper sharing it) gets every DNS
  query by a REDIRECT and answers those under `names` with `address`; it passes the others to the resolver the
  target had, from a marked socket the REDIRECT lets through.

Effect, looked up from inside the namespace with its own resolver settings: `probe_name` (default: `names`, or a
peer's name when `names` is every name) fails (or resolves to `address`), while, with `names`, a peer's name that
does not match still resolves; after the revert `probe_name` resolves as before.
"""

from __future__ import annotations

import contextlib
import ipaddress
import uuid
from typing import Any, Literal

from docker.errors import APIError, NotFound
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import FaultError
from chaos.faults._netns_fault import peer_for
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, register
from chaos.stack import containers
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import DNS_AGENT_SOURCE, NetnsAgent, run_in_netns, start_resident

TAG = "entchaos-dns"
RESPONDER_PORT = 15353
MARK = "0xecc1"  # the responder's own queries upstream: let through, not redirected back to it
NAME = r"^(\.|[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?)*)$"


def encoded(name: str) -> str:
    """`name` as its labels appear in a DNS question, in iptables' `--hex-string` notation."""
    return "".join(f"|{len(label):02x}|{label}" for label in name.split(".")) + "|00|"


def fail_script(names: str) -> str:
    """Reject the target's DNS queries (those carrying `names`' labels only, unless it is `.`)."""
    match = "" if names == "." else f"-m string --algo bm --icase --hex-string '{encoded(names)}' "
    rules = [f"-p udp --dport 53 {match}", f"-p udp -d 127.0.0.11 {match}"]
    if names == ".":
        rules += ["-p tcp --dport 53 ", "-p tcp -d 127.0.0.11 "]
    return "\n".join(f"iptables -I OUTPUT {r}-m comment --comment {TAG} -j REJECT" for r in rules)


REDIRECT_SCRIPT = (f"iptables -t nat -I OUTPUT 1 -p udp --dport 53 -m mark ! --mark {MARK} -m comment --comment {TAG} "
                   f"-j REDIRECT --to-ports {RESPONDER_PORT}")
REVERT_SCRIPT = f"iptables-save | grep -v -- '--comment {TAG}' | iptables-restore"


class DnsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["fail", "answer"] = "fail"
    names: str = Field(".", pattern=NAME, max_length=253,
                       description="a name: it and the names under it (`.`: every name)")
    address: str | None = Field(None, description="mode answer: the IPv4 address every matching name gets")
    probe_name: str | None = Field(None, pattern=NAME, max_length=253,
                                   description="the name the effect check looks up (default: `names`, or a peer's)")

    @model_validator(mode="after")
    def _consistent(self) -> DnsParams:
        if self.mode == "answer":
            if self.address is None:
                raise ValueError("mode answer needs `address` (the wrong answer to give)")
            ipaddress.IPv4Address(self.address)
        elif self.address is not None:
            raise ValueError("`address` is for mode answer")
        return self


@register("dns")
class Dns(Fault[DnsParams]):
    """The targets' name lookups fail (or get `address`), for every name or those under `names`."""

    needs = ("iptables-string (names, mode fail)", "iptables-redirect (mode answer)")

    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        p = self.params
        probes: dict[str, dict[str, Any]] = {}
        for target in ctx.targets:
            peer = peer_for(ctx, ctx.record, target)
            name = p.probe_name or (p.names if p.names != "." else peer.service)
            control = None if p.names == "." else next(
                (t.service for t in ctx.stack.targets() if t.status == "running" and t.service != target.service
                 and not _matches(t.service, p.names)), None)
            with NetnsAgent(target.id) as agent:
                before = {"probe": agent.run("resolve", name), **({"control": agent.run("resolve", control)}
                                                                   if control else {})}
            if before["probe"]["error"]:
                raise FaultError(f"{name} does not resolve in {target.service} even before the fault: "
                                 f"{before['probe']['error']}", fix="give `probe_name`: a name the target resolves")
            probes[target.id] = {"name": name, "control": control, "before": before,
                                 "upstream": _nameserver(target.id)}
        return {"probes": probes, "helpers": {t.id: f"entchaos-dns-{uuid.uuid4().hex[:12]}" for t in ctx.targets}}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        p = self.params
        for target in ctx.targets:
            if p.mode == "fail":
                run_in_netns(target.id, fail_script(p.names))
                continue
            upstream = ctx.record.state["probes"][target.id]["upstream"]
            _start_responder(target.id, ctx.record.state["helpers"][target.id], upstream, p.names, p.address or "")
            run_in_netns(target.id, REDIRECT_SCRIPT)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target in record.targets:
            if containers.is_running(target.id):
                run_in_netns(target.id, REVERT_SCRIPT)
        for name in (record.state.get("helpers") or {}).values():
            with contextlib.suppress(NotFound, APIError):
                docker_client().api.remove_container(name, force=True)

    def _seen(self, record: FaultRecord) -> dict[str, dict[str, Any]]:
        names = {t.id: t.service for t in record.targets}
        seen = {}
        for target_id, probe in record.state["probes"].items():
            with NetnsAgent(target_id) as agent:
                now = {"probe": agent.run("resolve", probe["name"]),
                       **({"control": agent.run("resolve", probe["control"])} if probe["control"] else {})}
            seen[names.get(target_id, target_id[:12])] = {"name": probe["name"], "control_name": probe["control"],
                                                          "before": probe["before"], "now": now}
        return seen

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The probe name fails (or resolves to `address` only); a control name outside `names` still resolves."""
        seen = self._seen(record)
        ok = bool(seen)
        for s in seen.values():
            probe, control = s["now"]["probe"], s["now"].get("control")
            hit = (probe["error"] is not None if self.params.mode == "fail"
                   else probe["addresses"] == [self.params.address])
            ok &= hit and (control is None or control["error"] is None)
        return Effect(ok, {"mode": self.params.mode, "names": self.params.names, "targets": seen})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The probe name resolves to what it did before."""
        seen = self._seen(record)
        ok = all(s["now"]["probe"]["addresses"] == s["before"]["probe"]["addresses"] for s in seen.values())
        return Effect(ok, {"mode": self.params.mode, "names": self.params.names, "targets": seen})


def _matches(name: str, names: str) -> bool:
    """As the responder and the string match see it: `names` itself or a name under it."""
    return names == "." or name == names or name.endswith("." + names)


def _nameserver(container_id: str) -> str:
    """The first nameserver of the target's resolv.conf (Docker's 127.0.0.11 on a user network)."""
    text = run_in_netns(container_id, "cat /etc/resolv.conf")
    return next((line.split()[1] for line in text.splitlines() if line.startswith("nameserver")), "127.0.0.11")


def _start_responder(container_id: str, name: str, upstream: str, names: str, address: str) -> None:
    argv = ["python3", "-c", DNS_AGENT_SOURCE.read_text(), str(RESPONDER_PORT), upstream, names, address, MARK]
    start_resident(container_id, name, argv, what="DNS responder", label="dns", cap_add=("NET_ADMIN",))
