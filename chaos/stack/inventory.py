"""The inventory backend: the stack under test is an Ansible inventory of hosts, not a compose project.

Ansible's own parser reads the file (`ansible-inventory --list`: INI, YAML, or a dynamic inventory script, with
group and host variables resolved), and this module reads entchaos's conventions off it:

- groups `dc_<name>` give a host its datacenter (one at most), groups `role_<name>` its roles;
- host variable `entchaos_chaos: allowed` is the blast-radius mark, as the label `entchaos.chaos=allowed` is on
  compose: a host without it is never hit;
- host variable `entchaos_services` names the services the host runs, each with its role (default: the host's one
  `role_*` group), its health URL and the ports it publishes (`{port: "address:port"}`, as reached from here);
- host variable `entchaos_destroy_data: allowed` lets a fire that asks for it (`destroy_data`) empty the host's
  declared data directories; without it the data survives the fire (the rebuild still empties a database's);
- inventory variable `entchaos_project` names the stack (default: the file's name), as a compose project does.

A target is one service on one host (id `<host>/<service>`, name the host), so a runbook's selectors (datacenter,
role, service) mean the same on both backends. What a target's process is doing now is known only by asking the
host (Ansible): `targets()` does not, and reports the status `unknown`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import InvalidInput, StackError
from chaos.stack.interface import Target
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, DATACENTER, ROLE
from chaos.stack.labels import select as select_targets

DC_PREFIX = "dc_"
ROLE_PREFIX = "role_"
SERVICES_VAR = "entchaos_services"
CHAOS_VAR = "entchaos_chaos"
PROJECT_VAR = "entchaos_project"
DESTROY_VAR = "entchaos_destroy_data"
NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
# A data directory the rebuild may empty: absolute, at least two levels deep, no `..`, no shell-special characters.
DATA_DIR = re.compile(r"^(/[A-Za-z0-9_.@+-]+){2,}/?$")
FIX = "see docs/fleet.md for the inventory's conventions"


@dataclass(frozen=True)
class HostService:
    """One service a host runs, as its host variables declare it."""

    name: str
    role: str
    health_url: str | None = None  # checked on the host itself (e.g. http://127.0.0.1:8000/healthz)
    ports: Mapping[int, tuple[str, int]] = field(default_factory=dict)  # port -> (address, port) reached from here
    data_dirs: tuple[str, ...] = ()  # emptied when its datacenter is rebuilt (the host must be chaos-allowed)


@dataclass(frozen=True)
class Host:
    """One host of the inventory with what entchaos reads of it."""

    name: str
    datacenter: str
    roles: tuple[str, ...]
    chaos_allowed: bool
    services: tuple[HostService, ...]
    destroy_allowed: bool = False  # a fire that asks may empty its services' data directories
    variables: Mapping[str, Any] = field(default_factory=dict)


def ansible_inventory_command() -> list[str]:
    """`ansible-inventory` of the toolkit's own environment (ansible-core is a dependency), else the PATH's."""
    beside = Path(sys.executable).parent / "ansible-inventory"
    found = str(beside) if beside.is_file() else shutil.which("ansible-inventory")
    if not found:
        raise StackError("ansible-inventory is not installed", fix="install the toolkit with `make setup`")
    return [found]


def read_inventory(path: str | Path) -> dict[str, Any]:
    """The inventory as Ansible resolves it (`ansible-inventory --list`): `_meta.hostvars` and the groups."""
    file = Path(path)
    if not file.exists():
        raise InvalidInput(f"inventory {file} does not exist", where=str(file), fix="give the path of an inventory")
    done = subprocess.run([*ansible_inventory_command(), "-i", str(file), "--list"], capture_output=True, text=True,
                          timeout=120, env={"ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
                                            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
                                            "ANSIBLE_NOCOLOR": "1", "PATH": "/usr/bin:/bin",
                                            "ANSIBLE_LOCAL_TEMP": "/tmp", "HOME": str(Path.home())})
    if done.returncode != 0:
        lines = [ln.strip() for ln in done.stderr.splitlines() if ln.strip() and "WARNING" not in ln]
        raise InvalidInput(f"Ansible cannot read the inventory: {' '.join(lines[-3:]) or 'no reason given'}",
                           where=str(file), fix="check it with `ansible-inventory -i FILE --list`")
    return json.loads(done.stdout)


def _groups_of(listing: Mapping[str, Any]) -> dict[str, set[str]]:
    """host -> every group it belongs to, through child groups."""
    def hosts_of(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        node = listing.get(group) or {}
        found = set(node.get("hosts") or [])
        for child in node.get("children") or []:
            if child not in seen:
                found |= hosts_of(child, seen | {group})
        return found

    groups: dict[str, set[str]] = {}
    for group in listing:
        if group == "_meta":
            continue
        for host in hosts_of(group):
            groups.setdefault(host, set()).add(group)
    return groups


def _endpoint(where: str, value: Any) -> tuple[str, int]:
    text = str(value)
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise InvalidInput(f"{where}: {value!r} is not an address:port", where=where, fix=FIX)
    return host, int(port)


def _service(host: str, name: str, spec: Any, roles: tuple[str, ...], file: str) -> HostService:
    where = f"{file}: host {host}, {SERVICES_VAR}.{name}"
    if not NAME.match(name):
        raise InvalidInput(f"{where}: {name!r} is not a service name (lower case, digits, - _ .)", where=file, fix=FIX)
    spec = {} if spec is None else spec
    if not isinstance(spec, Mapping):
        raise InvalidInput(f"{where}: expected a mapping (role, health_url, ports), got {spec!r}", where=file,
                           fix=FIX)
    unknown = set(spec) - {"role", "health_url", "ports", "data_dirs"}
    if unknown:
        raise InvalidInput(f"{where}: unknown keys {sorted(unknown)} (known: role, health_url, ports, data_dirs)",
                           where=file, fix=FIX)
    data_dirs = spec.get("data_dirs") or []
    if not isinstance(data_dirs, list) or not all(
            isinstance(d, str) and DATA_DIR.match(d) and ".." not in d.split("/") for d in data_dirs):
        raise InvalidInput(f"{where}.data_dirs: expected a list of absolute paths below a top directory (as "
                           f"/var/lib/postgresql/data), got {data_dirs!r}", where=file, fix=FIX)
    role = spec.get("role") or (roles[0] if len(roles) == 1 else None)
    if not role:
        raise InvalidInput(f"{where}: no role: the host is in {len(roles)} role_* groups ({', '.join(roles) or '-'})",
                           where=file, fix="give the service a `role:`, or put the host in one role_* group")
    ports = spec.get("ports") or {}
    if not isinstance(ports, Mapping) or not all(str(p).isdigit() for p in ports):
        raise InvalidInput(f"{where}.ports: expected {{port: address:port}}, got {ports!r}", where=file, fix=FIX)
    return HostService(name, str(role), spec.get("health_url"),
                       {int(p): _endpoint(f"{where}.ports.{p}", v) for p, v in ports.items()}, tuple(data_dirs))


def hosts_from_listing(listing: Mapping[str, Any], file: str) -> list[Host]:
    """The hosts of an `ansible-inventory --list` answer, with entchaos's conventions checked."""
    hostvars = (listing.get("_meta") or {}).get("hostvars") or {}
    groups = _groups_of(listing)
    hosts = []
    for name in sorted(set(hostvars) | set(groups)):
        variables = hostvars.get(name) or {}
        mine = groups.get(name, set())
        dcs = sorted(g.removeprefix(DC_PREFIX) for g in mine if g.startswith(DC_PREFIX))
        if len(dcs) > 1:
            raise InvalidInput(f"{file}: host {name} is in {len(dcs)} datacenters ({', '.join(dcs)})", where=file,
                               fix="a host stands in one datacenter: keep it in one dc_* group")
        roles = tuple(sorted(g.removeprefix(ROLE_PREFIX) for g in mine if g.startswith(ROLE_PREFIX)))
        services = variables.get(SERVICES_VAR) or {}
        if not isinstance(services, Mapping):
            raise InvalidInput(f"{file}: host {name}: {SERVICES_VAR} must map service names to their settings",
                               where=file, fix=FIX)
        mark = variables.get(CHAOS_VAR)
        if mark not in (None, CHAOS_ALLOWED):
            raise InvalidInput(f"{file}: host {name}: {CHAOS_VAR} is {mark!r}; the only mark is 'allowed'",
                               where=file, fix=f"write `{CHAOS_VAR}: allowed`, or leave it out to protect the host")
        destroy = variables.get(DESTROY_VAR)
        if destroy not in (None, CHAOS_ALLOWED):
            raise InvalidInput(f"{file}: host {name}: {DESTROY_VAR} is {destroy!r}; the only mark is 'allowed'",
                               where=file, fix=f"write `{DESTROY_VAR}: allowed`, or leave it out to keep its data")
        hosts.append(Host(
            name=name,
            datacenter=dcs[0] if dcs else "-",
            roles=roles,
            chaos_allowed=mark == CHAOS_ALLOWED,
            destroy_allowed=destroy == CHAOS_ALLOWED,
            services=tuple(_service(name, str(s), spec, roles, file) for s, spec in sorted(services.items())),
            variables=variables,
        ))
    seen: dict[str, str] = {}
    for host in hosts:
        for service in host.services:
            if service.name in seen:
                raise InvalidInput(f"{file}: service {service.name} is declared on hosts {seen[service.name]} and "
                                   f"{host.name}", where=file, fix="name each service once (e.g. app-sbg-1, app-sbg-2)")
            seen[service.name] = host.name
    return hosts


class InventoryStack:
    """The stack as an Ansible inventory names it (see the module's docstring for the conventions)."""

    backend = "inventory"

    def __init__(self, path: str | Path, hosts: list[Host], project: str) -> None:
        self.path = Path(path)
        self.hosts = hosts
        self.project = project

    @classmethod
    def from_file(cls, path: str | Path, project: str | None = None) -> InventoryStack:
        """Read and check the inventory (`InvalidInput` naming the host and variable at fault)."""
        listing = read_inventory(path)
        hosts = hosts_from_listing(listing, str(path))
        if not any(h.services for h in hosts):
            raise InvalidInput(f"{path}: no host declares {SERVICES_VAR}: there is nothing to test", where=str(path),
                               fix=FIX)
        declared = sorted({str(h.variables[PROJECT_VAR]) for h in hosts if h.variables.get(PROJECT_VAR)})
        name = project or (declared[0] if declared else Path(path).stem)
        return cls(path, hosts, name)

    @property
    def is_bundled(self) -> bool:
        """Whether its hosts run the bundled ENT (inventory variable `entchaos_bundled_ent: true`, as the test
        fleet's): then answers are told apart by the ENT's markers, as on the bundled stack."""
        return any(h.variables.get("entchaos_bundled_ent") is True for h in self.hosts)

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise StackError(f"no host {name!r} in inventory {self.path}", fix=FIX)

    def host_of(self, service: str) -> Host:
        """The host that runs `service`."""
        for host in self.hosts:
            if any(s.name == service for s in host.services):
                return host
        raise StackError(f"no host of inventory {self.path} runs service {service!r}", fix=FIX)

    def with_role(self, role: str) -> list[Host]:
        """The hosts of group `role_<role>` (e.g. the load generators: `loadgen`)."""
        return [h for h in self.hosts if role in h.roles]

    # --- the Stack protocol -------------------------------------------------------------------
    def targets(self) -> list[Target]:
        """Every service of every host (status `unknown`: only asking the host says more)."""
        return sorted((Target(id=f"{h.name}/{s.name}", name=h.name, service=s.name, datacenter=h.datacenter,
                              role=s.role, chaos_allowed=h.chaos_allowed, status="unknown")
                       for h in self.hosts for s in h.services), key=lambda t: (t.service, t.name))

    def select(self, labels: Mapping[str, str], *, chaos_only: bool = True) -> list[Target]:
        """Services matching every label (short keys: datacenter, role, service), on chaos-allowed hosts only."""
        return select_targets(self.targets(), labels, chaos_only=chaos_only)

    def services_by_label(self) -> dict[str, dict[str, str]]:
        """service -> the labels it would carry on compose (datacenter, role, the chaos mark)."""
        found: dict[str, dict[str, str]] = {}
        for host in self.hosts:
            for service in host.services:
                labels = {DATACENTER: host.datacenter, ROLE: service.role}
                if host.chaos_allowed:
                    labels[CHAOS] = CHAOS_ALLOWED
                found[service.name] = labels
        return found

    def _service(self, name: str) -> HostService:
        host = self.host_of(name)
        return next(s for s in host.services if s.name == name)

    def published(self, service: str, container_port: int) -> tuple[str, int]:
        """Where `service`'s port is reached from here (its `ports` in the inventory)."""
        ports = self._service(service).ports
        if container_port not in ports:
            raise StackError(f"service {service!r} declares no port {container_port} in inventory {self.path}",
                             fix=f"add it under {SERVICES_VAR}.{service}.ports")
        return ports[container_port]

    def edge_service(self) -> str:
        """The service whose role is `edge`."""
        edges = [s.name for h in self.hosts for s in h.services if s.role == "edge"]
        if not edges:
            raise StackError(f"no service of inventory {self.path} has the role edge",
                             fix="declare the edge's service with `role: edge` (or put its host in role_edge)")
        return edges[0]

    def edge_url(self) -> str:
        host, port = self.published(self.edge_service(), 80)
        return f"http://{host}:{port}"

    def edge_api(self) -> tuple[str, int]:
        return self.published(self.edge_service(), 9999)
