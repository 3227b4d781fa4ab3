"""`entchaos init --compose-file FILE`: survey a compose project and write a starter runbook for it.

The survey reads the project as Compose resolves it (`docker compose config`: no engine needed): each service's
labels, published ports, networks and volumes. A service without the `entchaos.*` labels is not a target; for
each, a proposal is made (the datacenter from a name part the services share, like `east` in `web-east` and
`db-east`; the role from the name or image: balancer, database, app) for the user to paste, never applied.

The starter runbook uses only what the project has: a steady state from the front service (the edge, else a
service publishing a port), one app replica killed per datacenter with the time to recover recorded, a partition
between the datacenters when they have a network of their own, and a short journey of GET requests against the
front; comments say what to adjust. It passes `entchaos validate` and `entchaos plan` as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.log import get_logger
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, DATACENTER, ROLE

log = get_logger(__name__)

EDGE_WORDS = ("haproxy", "nginx", "traefik", "envoy", "caddy", "lb", "balancer", "proxy", "edge", "gateway")
DB_WORDS = ("postgres", "postgresql", "mysql", "mariadb", "mongo", "redis", "db", "database", "sql")


@dataclass
class Service:
    """One service as the survey sees it."""

    name: str
    image: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)  # container ports published
    networks: list[str] = field(default_factory=list)

    @property
    def datacenter(self) -> str | None:
        return self.labels.get(DATACENTER)

    @property
    def role(self) -> str | None:
        return self.labels.get(ROLE)

    @property
    def labelled(self) -> bool:
        return DATACENTER in self.labels and ROLE in self.labels


@dataclass
class Survey:
    """The project: its services, networks, and the labels proposed for those without."""

    compose_file: Path
    name: str
    services: list[Service]
    networks: list[str]
    proposals: dict[str, dict[str, str]] = field(default_factory=dict)

    def datacenters(self) -> list[str]:
        """Datacenters of the app services, labelled or proposed (sorted)."""
        found = {self.labels_of(s).get(DATACENTER) for s in self.services if self.labels_of(s).get(ROLE) == "app"}
        return sorted(d for d in found if d)

    def labels_of(self, service: Service) -> dict[str, str]:
        return {**self.proposals.get(service.name, {}), **service.labels}

    def front(self) -> tuple[Service, int] | None:
        """Where users come in: the edge's published port, else the first service publishing a port."""
        ranked = sorted((s for s in self.services if s.ports), key=lambda s: self.labels_of(s).get(ROLE) != "edge")
        if not ranked:
            return None
        port = 80 if 80 in ranked[0].ports else ranked[0].ports[0]
        return ranked[0], port


def _ports(spec: dict[str, Any]) -> list[int]:
    """Container ports the service publishes (`docker compose config` writes them in the long form)."""
    out = []
    for port in spec.get("ports") or []:
        if isinstance(port, dict) and port.get("protocol", "tcp") == "tcp" and isinstance(port.get("target"), int):
            out.append(int(port["target"]))
    return out


def _labels(spec: dict[str, Any]) -> dict[str, str]:
    raw = spec.get("labels") or {}
    if isinstance(raw, list):  # `- key=value` (compose config writes a mapping, a raw file may not)
        raw = {key: value for key, _, value in (str(item).partition("=") for item in raw)}
    return {str(k): str(v) for k, v in raw.items() if str(k).startswith("entchaos.")}


def survey(config: dict[str, Any], compose_file: Path) -> Survey:
    """The project as `docker compose config` gives it, with label proposals."""
    services = []
    for name, spec in sorted((config.get("services") or {}).items()):
        networks = spec.get("networks") or []
        services.append(Service(name=name, image=str(spec.get("image") or ""), labels=_labels(spec),
                                ports=_ports(spec), networks=sorted(networks)))
    result = Survey(compose_file, str(config.get("name") or compose_file.parent.name), services,
                    sorted(config.get("networks") or {}))
    result.proposals = propose(services)
    return result


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[-_.\d]+", name.lower()) if w]


ROLE_WORDS = set(EDGE_WORDS) | set(DB_WORDS) | {"app", "web", "api", "worker", "service", "server", "client"}


def _guess_role(s: Service) -> str:
    words = _words(s.name) + _words(s.image.split(":")[0].split("/")[-1])
    return "edge" if any(w in EDGE_WORDS for w in words) else "db" if any(w in DB_WORDS for w in words) else "app"


def propose(services: list[Service]) -> dict[str, dict[str, str]]:
    """Labels for the services that lack them: the role from the name or image; the datacenter from a name part
    that is neither a role word nor shared by every service of that role (`paris` in `catalogue-paris` beside
    `catalogue-lyon`); `entchaos.chaos: allowed` for apps only (the user widens it knowingly)."""
    roles = {s.name: s.role or _guess_role(s) for s in services}
    base: dict[str, set[str]] = {}
    for role in set(roles.values()):
        same = [set(_words(s.name)) - ROLE_WORDS for s in services if roles[s.name] == role]
        base[role] = set.intersection(*same) if len(same) >= 2 else set()
    out: dict[str, dict[str, str]] = {}
    for s in services:
        if s.labelled:
            continue
        role = roles[s.name]
        parts = [w for w in _words(s.name) if w not in ROLE_WORDS and w not in base[role]]
        datacenter = s.datacenter or (parts[0] if parts else "front" if role == "edge" else "dc1")
        labels = {DATACENTER: datacenter, ROLE: role}
        if role == "app":
            labels[CHAOS] = CHAOS_ALLOWED
        out[s.name] = labels
    return out


def report(s: Survey) -> str:
    """What `entchaos init` prints: each service, its labels or the proposal, and what to do."""
    lines = [f"project {s.name} ({s.compose_file}): {len(s.services)} services, networks {', '.join(s.networks)}"]
    for svc in s.services:
        if svc.labelled:
            allowed = "chaos allowed" if svc.labels.get(CHAOS) == CHAOS_ALLOWED else "never touched"
            lines.append(f"  {svc.name:20} {svc.datacenter}/{svc.role}, {allowed}")
        else:
            lines.append(f"  {svc.name:20} NO entchaos labels: not a target (proposal below)")
    if s.proposals:
        lines += ["", "Proposed labels (add them to the compose file; review the datacenter and role of each):", ""]
        for name, labels in s.proposals.items():
            text = ", ".join(f"{k}: {v}" for k, v in labels.items())
            lines.append(f"  {name}:\n    labels: {{{text}}}")
    return "\n".join(lines)


def starter_journeys(s: Survey) -> str:
    """The starter's journeys file: one visitor's GET of the front page, and a write to adapt, commented."""
    return "\n".join([
        f"# Journeys for {s.name}, written by `entchaos init`: what one user does, request after request",
        "# (docs/journeys.md). Adjust the paths, add the requests your users make; a step with `ledger_key` is an",
        "# acknowledged write, looked for after the faults where the runbook's `load.ledger` says.",
        "journeys:",
        "  visitor:",
        "    steps:",
        "      - {name: home, path: /}            # your front page, or a health URL",
        "  # buyer:                              # a write (add it to the runbook's `journeys:` mix)",
        "  #   vars: {order: {uuid4: true}}",
        "  #   steps:",
        "  #     - {name: order, method: POST, path: /orders, json: {key: \"${order}\"}, expect: [201],",
        "  #        ledger_key: \"${order}\"}",
    ]) + "\n"


def starter_runbook(s: Survey, runbook_dir: Path, journeys_file: str | None = None) -> str:
    """The starter runbook's text: what the project has, commented; it validates as written. `journeys_file`: the
    starter journeys written beside it (`starter_journeys`), else the toolkit's one-request `flood` journey."""
    try:
        compose = s.compose_file.resolve().relative_to(runbook_dir.resolve())
    except ValueError:
        compose = s.compose_file.resolve()
    name = re.sub(r"[^a-z0-9._-]+", "-", s.name.lower()).strip("-") or "project"
    dcs = s.datacenters()
    front = s.front()
    out = [f"# Starter runbook for {s.name}, written by `entchaos init` from {s.compose_file.name}.",
           "# It runs as written; adjust what the comments say, then `entchaos validate`, `plan`, `run`.",
           f'metadata: {{name: {name}-starter, description: "one replica lost per datacenter, then a partition"}}',
           f"stack: {{compose_file: {json.dumps(str(compose))}}}"]
    target = f"{{service: {front[0].name}, port: {front[1]}}}" if front else None
    if target:
        journeys = ([f"  journeys_file: {journeys_file}", "  journeys: {visitor: 1}"] if journeys_file
                    else ["  journeys: {flood: 1}"])
        dbs = [svc.name for svc in s.services if svc.role == "db"]
        out += ["load:                                   # a short journey: GET / at a steady rate (adjust)",
                "  profile: constant:10",
                *journeys,
                f"  target: {target}",
                "  duration_s: 300                      # a bound: the run stops the load when it ends anyway",
                "  # ledger:                            # where acknowledged writes (ledger_key) must still be:",
                f"  #   sql: {{service: {dbs[0] if dbs else 'db'}, database: app, user: app, password: app,",
                "  #     query: \"select key from orders where key = any(%s)\"}  # or http: {path: /orders/${key}}"]
    out += ["hypothesis:", "  probes:"]
    if target:
        out += [f"    - {{name: front answers, probe: http, params: {{target: {target}, timeout_s: 2}}, "
                "expect: {lt: 500}}       # a health URL: add `path: /health`",
                "    - {name: users are served, probe: load-availability, params: {window_s: 3, min_requests: 10},",
                "       expect: {gte: 0.99}}"]
    else:
        out += ["    - {name: nothing to probe yet, probe: constant, params: {value: 1}, expect: {eq: 1}}  "
                "# no service publishes a port: publish one and probe it with `http`"]
    out += ["  warmup_s: 30", "  settle_s: 30", "steps:"]
    if target:
        out.append("  - {id: steady, wait-for: load-elapsed, until: {gte: 5}, timeout_s: 30}")
    verify = []
    for dc in dcs:
        out += [f"  - {{id: lose-{dc}, fault: kill, target: {{datacenter: {dc}, role: app}}, count: 1}}  "
                "# one replica of the zone"]
        if target:
            out += [f"  - {{id: served-{dc}, wait-for: http, params: {{target: {target}, timeout_s: 1}}, "
                    "until: {lt: 500},",
                    f"     timeout_s: 30, interval_s: 0.5, since: lose-{dc}, record: ttr_{_id(dc)}_s}}  "
                    "# the front answers again"]
            verify.append(f"  - ttr_{_id(dc)}_s: {{lte: 30}}              # the time to recover you promise")
        out.append(f"  - {{id: back-{dc}, revert: lose-{dc}}}")
    zone_nets = _zone_network(s, dcs)
    if zone_nets:
        dc, net = zone_nets
        out += [f"  - {{id: split, fault: partition, target: {{datacenter: {dc}}}, params: {{network: {net}}}, "
                "duration_s: 10}  # the zone cut off its network"]
    if target:
        verify.append("  - {availability: {gte: 0.95}, window: run}        # what users got over the whole run")
        verify.append("  - lost_acked_writes: {eq: 0}                      # once a journey writes and `ledger` is set")
    out += ["verify:", *(verify or ["  - {name: steady after, probe: constant, params: {value: 1}, expect: {eq: 1}}"])]
    return "\n".join(out) + "\n"


def _id(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower())


def _zone_network(s: Survey, dcs: list[str]) -> tuple[str, str] | None:
    """A datacenter and a network its app services share with services of other datacenters (what a cut of
    that network separates), the front's network first."""
    front = s.front()
    for dc in dcs:
        inside = [x for x in s.services if s.labels_of(x).get(DATACENTER) == dc]
        outside = [x for x in s.services if s.labels_of(x).get(DATACENTER) != dc]
        nets = {n for x in inside if s.labels_of(x).get(ROLE) == "app" for n in x.networks}
        shared = sorted(n for n in nets if any(n in x.networks for x in outside))
        if front is not None and front[0] not in inside:
            shared.sort(key=lambda n: n not in front[0].networks)
        if shared:
            return dc, shared[0]
    return None
