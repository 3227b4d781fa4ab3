"""Network faults on an inventory's hosts: their rules put on by `playbooks/hosts/net.yml`, their effect measured by
the probe agent run on the hosts themselves (`playbooks/hosts/probe.yml`).

The probes need no listener on the far side where they can: a TCP connect to a closed port is answered by a reset,
so "answered" means reachable and "no answer within the timeout" means cut or dropped. Only the bandwidth check
serves a sink (for a bounded time) on its peer.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chaos.errors import FaultError
from chaos.stack.hosts import run_host_playbook
from chaos.stack.interface import TargetRef
from chaos.stack.inventory import InventoryStack
from chaos.stack.netns import AGENT_SOURCE

CLOSED_PORT = 9  # discard: closed on a host that runs no such service, so a connect is answered by a reset
REACH_TRIES = 3  # connects per address in a reachability probe: one answer is enough
REACH_TIMEOUT_S = 0.5  # a reset across a datacenter link takes well under 100 ms
CANDIDATES = 3  # peers tried per target host, same datacenter first


@dataclass(frozen=True)
class Probed:
    """What each host said: its addresses, the toolkit's faults in force on it, its probes' answers in order."""

    addresses: Mapping[str, list[str]]
    answers: Mapping[str, list[dict[str, Any]]]
    leftovers: Mapping[str, list[str]]


def probe(stack: InventoryStack, hosts: Iterable[str], *,
          probes: Mapping[str, Sequence[Sequence[object]]] | None = None,
          listen: Mapping[str, int] | None = None, listen_s: int = 60) -> Probed:
    """The probe agent's `probes` run on each host (a sink served first on the `listen` hosts); every host's
    addresses. `FaultError` when a host does not answer or a probe fails."""
    hosts = sorted(set(hosts))
    run = run_host_playbook("probe", stack.path, limit=",".join(hosts), extravars={
        "agent": AGENT_SOURCE.read_text(), "listen": dict(listen or {}), "listen_s": listen_s,
        "probes": {h: [[str(a) for a in p] for p in ps] for h, ps in (probes or {}).items()}})
    trouble = {**run.unreachable, **run.failed}
    missing = sorted(set(hosts) - set(run.results) - set(trouble))
    if trouble or missing:
        detail = "; ".join(f"{host}: {why}" for host, why in sorted(trouble.items()))
        raise FaultError(f"probing hosts {', '.join(sorted(trouble) + missing)} failed: {detail or 'no answer'}",
                         where=str(stack.path), fix="check the hosts answer and have python3 and iproute2")
    addresses: dict[str, list[str]] = {}
    answers: dict[str, list[dict[str, Any]]] = {}
    leftovers: dict[str, list[str]] = {}
    for host, results in run.results.items():
        said: Mapping[str, Any] = next((r["msg"] for r in results if isinstance(r.get("msg"), dict)), {})
        addresses[host] = [str(ipaddress.IPv4Address(a)) for a in said.get("addresses", [])]  # checked: spliced later
        answers[host] = [json.loads(line) for line in said.get("probes", [])]
        leftovers[host] = sorted(set(said.get("leftovers", [])))
    return Probed(addresses, answers, leftovers)


def target_hosts(targets: Iterable[TargetRef]) -> list[str]:
    """The targets' hosts (a target's `name` is its host on the inventory backend)."""
    return sorted({t.name for t in targets})


def peers_of(stack: InventoryStack, targets: Sequence[TargetRef], group: str | None) -> list[str]:
    """The hosts a partition cuts the targets' hosts from: those of `group` (`dc_<name>` or `role_<name>`), or every
    host outside the targets' datacenters (the datacenter goes on talking to itself, as on compose). Never a
    target's host."""
    mine = set(target_hosts(targets))
    if group and group.startswith("dc_"):
        listed = {h.name for h in stack.hosts if h.datacenter == group.removeprefix("dc_")}
    elif group and group.startswith("role_"):
        listed = {h.name for h in stack.with_role(group.removeprefix("role_"))}
    elif group:
        raise FaultError(f"partition: peers {group!r} is not a dc_* or role_* group", where=str(stack.path),
                         fix="name a datacenter (dc_rbx) or a role (role_edge) group of the inventory")
    else:
        datacenters = {t.datacenter for t in targets}
        listed = {h.name for h in stack.hosts if h.datacenter not in datacenters}
    peers = sorted(listed - mine)
    if not peers:
        raise FaultError(f"a partition from nobody: no host is left on the other side ({group or 'other datacenters'})",
                         where=str(stack.path), fix="cut a part of the fleet from the rest")
    return peers


def reachable(stack: InventoryStack, pairs: Mapping[str, Sequence[str]]) -> dict[str, dict[str, bool]]:
    """host -> {address: answered}, for `pairs` = host -> the addresses it tries, all at once (a reset or an accept
    within the timeout is an answer: reachable)."""
    probes = {h: [["reach", CLOSED_PORT, REACH_TIMEOUT_S, REACH_TRIES, *addrs]] for h, addrs in pairs.items() if addrs}
    answers = probe(stack, pairs, probes=probes).answers
    return {host: dict(answers[host][0]["answered"]) if addrs else {} for host, addrs in pairs.items()}


def choose_peer(stack: InventoryStack, targets: Sequence[TargetRef]) -> dict[str, dict[str, str]]:
    """For each target host, a host that is not a target's and answers it (same datacenter first): host -> {peer,
    address}. The effect checks of packet-loss and bandwidth measure between them."""
    mine = target_hosts(targets)
    others = [h for h in stack.hosts if h.name not in mine]
    if not others:
        raise FaultError("every host is a target: a network fault needs a peer to measure against",
                         fix="leave at least one host of the inventory out of the step's targets")
    addresses = probe(stack, [*mine, *(h.name for h in others)]).addresses
    candidates = {host: [(h.name, a) for h in sorted(others, key=lambda h: (h.datacenter != stack.host(host).datacenter,
                                                                          h.name))[:CANDIDATES]
                         for a in addresses.get(h.name, [])] for host in mine}
    seen = reachable(stack, {host: [a for _, a in c] for host, c in candidates.items()})
    chosen: dict[str, dict[str, str]] = {}
    for host, found in candidates.items():
        first = next(((peer, a) for peer, a in found if seen[host].get(a)), None)
        if first is None:
            raise FaultError(f"no host answers {host}: nothing to measure a network fault against",
                             fix="check the hosts reach each other before injecting")
        chosen[host] = {"peer": first[0], "address": first[1]}
    return chosen


def run_script(stack: InventoryStack, hosts: Iterable[str], script: str,
               args: Mapping[str, Sequence[object]] | None = None, *, check: bool = True) -> dict[str, str]:
    """`<script>_script` of `playbooks/hosts/vars/scripts.yml` on `hosts`, each with its own arguments: what each
    host printed."""
    hosts = sorted(set(hosts))
    run = run_host_playbook("script", stack.path, limit=",".join(hosts), extravars={
        "script": script, "args": {h: [str(a) for a in a_] for h, a_ in (args or {}).items()}})
    trouble = {**run.unreachable, **run.failed}
    if check and trouble:
        detail = "; ".join(f"{host}: {why}" for host, why in sorted(trouble.items()))
        raise FaultError(f"{script} failed on hosts {', '.join(sorted(trouble))}: {detail}", where=str(stack.path),
                         fix="the hosts need iptables and tc (iproute2), run as root")
    return {host: str(next((r["msg"]["stdout"] for r in results if isinstance(r.get("msg"), dict)), ""))
            for host, results in run.results.items()}
