"""The test fleet: the bundled ENT stack as SSH hosts, and the Ansible inventory that describes it.

`fixtures/fleet/compose.yaml` runs each ENT service on a container that plays a machine (sshd, an init script,
iptables), built FROM the stack's own image of its role. `fleet_up` builds those images, makes an SSH key for the
fleet, starts it, waits until every host answers over SSH and the portal answers at the edge, and writes the
inventory (`.entchaos/fleet/<project>/inventory.yaml`) that `entchaos run --inventory` and Ansible use: groups
`dc_*` and `role_*`, the blast-radius mark on the two datacenters' hosts only, each service's published ports.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from chaos.errors import EnvironmentProblem, StackError
from chaos.log import get_logger
from chaos.stack.compose import PROJECT_ROOT, ComposeStack

log = get_logger(__name__)

FLEET_COMPOSE_FILE = PROJECT_ROOT / "fixtures" / "fleet" / "compose.yaml"
DEFAULT_FLEET_PROJECT = "entchaos-fleet"
STATE_ROOT = PROJECT_ROOT / ".entchaos" / "fleet"


@dataclass(frozen=True)
class FleetHost:
    """One host of the test fleet: its compose service, inventory name, datacenter, roles, and ports it publishes."""

    service: str  # the compose service (also the ENT service it runs, but for load generators)
    host: str
    datacenter: str
    role: str
    runs: str | None  # the ENT service on it (None: a load generator)
    ports: tuple[int, ...] = ()  # ports of the service published on 127.0.0.1 (besides SSH)
    chaos_allowed: bool = False
    health_url: str | None = None  # checked on the host itself
    data_dirs: tuple[str, ...] = ()  # what a rebuild of its datacenter empties


APP_HEALTH = "http://127.0.0.1:8000/healthz"
PGDATA = ("/var/lib/postgresql/data",)
FLEET = (
    FleetHost("edge", "nat-edge-1", "national", "edge", "edge", (80, 8404, 9999)),
    FleetHost("fallback", "nat-fallback-1", "national", "fallback", "fallback"),
    FleetHost("app-sbg-1", "sbg-app-1", "sbg", "app", "app-sbg-1", chaos_allowed=True, health_url=APP_HEALTH),
    FleetHost("app-sbg-2", "sbg-app-2", "sbg", "app", "app-sbg-2", chaos_allowed=True, health_url=APP_HEALTH),
    FleetHost("app-rbx-1", "rbx-app-1", "rbx", "app", "app-rbx-1", chaos_allowed=True, health_url=APP_HEALTH),
    FleetHost("app-rbx-2", "rbx-app-2", "rbx", "app", "app-rbx-2", chaos_allowed=True, health_url=APP_HEALTH),
    FleetHost("db-sbg", "sbg-db-1", "sbg", "db", "db-sbg", (5432,), chaos_allowed=True, data_dirs=PGDATA),
    FleetHost("db-rbx", "rbx-db-1", "rbx", "db", "db-rbx", (5432,), chaos_allowed=True, data_dirs=PGDATA),
    FleetHost("loadgen-1", "loadgen-1", "internet-fr", "loadgen", None),
    FleetHost("loadgen-2", "loadgen-2", "internet-fr", "loadgen", None),
)


@dataclass(frozen=True)
class Fleet:
    """A test fleet's compose project and where its key and inventory live."""

    project: str = DEFAULT_FLEET_PROJECT

    @property
    def state(self) -> Path:
        return STATE_ROOT / self.project

    @property
    def key(self) -> Path:
        return self.state / "id_ed25519"

    @property
    def inventory(self) -> Path:
        return self.state / "inventory.yaml"

    def compose(self) -> ComposeStack:
        pubkey = self.key.with_suffix(".pub")
        env = {"ENTCHAOS_FLEET_PROJECT": self.project,
               "ENTCHAOS_FLEET_PUBKEY": pubkey.read_text().strip() if pubkey.is_file() else "none"}
        return ComposeStack(project=self.project, compose_file=FLEET_COMPOSE_FILE, env=env)


def ensure_key(fleet: Fleet) -> None:
    """An SSH key made for this fleet (never the user's own)."""
    if fleet.key.is_file():
        return
    if not shutil.which("ssh-keygen") or not shutil.which("ssh"):
        raise EnvironmentProblem("the OpenSSH client is not installed (Ansible reaches hosts with it)",
                                 fix="run `make fleet-up` (it installs openssh-client) or apt-get install it")
    fleet.state.mkdir(parents=True, exist_ok=True)
    os.chmod(fleet.state, 0o700)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"entchaos-{fleet.project}",
                    "-f", str(fleet.key)], check=True, capture_output=True)


def _published(stack: ComposeStack, service: str, port: int) -> int:
    return stack.published(service, port)[1]


def inventory_document(fleet: Fleet, stack: ComposeStack) -> dict[str, Any]:
    """The Ansible inventory of the running fleet (YAML inventory format)."""
    hosts: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for spec in FLEET:
        variables: dict[str, Any] = {
            "ansible_host": "127.0.0.1",
            "ansible_port": _published(stack, spec.service, 22),
        }
        if spec.chaos_allowed:
            variables["entchaos_chaos"] = "allowed"
        if spec.role == "loadgen":  # the toolkit installed in the client image's environment
            variables["entchaos_loadgen_python"] = "/opt/venv/bin/python"
        if spec.runs:
            service: dict[str, Any] = {}
            if spec.ports:
                service["ports"] = {p: f"127.0.0.1:{_published(stack, spec.service, p)}" for p in spec.ports}
            if spec.health_url:
                service["health_url"] = spec.health_url
            if spec.data_dirs:
                service["data_dirs"] = list(spec.data_dirs)
                variables["entchaos_destroy_data"] = "allowed"  # a test fleet: a fire may burn its disks
            variables["entchaos_services"] = {spec.runs: service}
        hosts[spec.host] = variables
        for group in (f"dc_{spec.datacenter.replace('-', '_')}", f"role_{spec.role}"):
            groups.setdefault(group, {"hosts": {}})["hosts"][spec.host] = None
    return {"all": {
        "vars": {
            "entchaos_project": fleet.project,
            "entchaos_bundled_ent": True,  # its answers carry the ENT's markers (served by app or fallback)
            "entchaos_load_target": "http://edge:80",  # the edge as the load generators reach it (their network)
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(fleet.key),
            # The fleet's host keys are made at each start: nothing to pin, and nothing written to known_hosts.
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                                       "-o LogLevel=ERROR",
            "ansible_python_interpreter": "/usr/bin/python3",
        },
        "hosts": hosts,
        "children": groups,
    }}


def write_inventory(fleet: Fleet, stack: ComposeStack) -> Path:
    header = ("# The test fleet's inventory, written by `entchaos fleet up` (ports are Docker's picks: rewritten at\n"
              "# each start). Conventions: docs/fleet.md.\n")
    fleet.inventory.write_text(header + yaml.safe_dump(inventory_document(fleet, stack), sort_keys=False))
    return fleet.inventory


def _ssh_answers(port: int) -> bool:
    """sshd's banner on the published port (the port is open before the host's sshd is)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            conn.settimeout(2)
            return conn.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def wait_for_hosts(stack: ComposeStack, deadline_s: float = 240) -> None:
    """Every host answers over SSH and the edge's portal answers (the services have started)."""
    import urllib.request

    def missing() -> list[str]:
        gone = [h.host for h in FLEET if not _ssh_answers(_published(stack, h.service, 22))]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{_published(stack, 'edge', 80)}/", timeout=2) as answer:
                if answer.status != 200:
                    gone.append("the portal at the edge")
        except OSError:
            gone.append("the portal at the edge")
        return gone

    try:
        Retrying(stop=stop_after_delay(deadline_s), wait=wait_fixed(1), retry=retry_if_result(bool))(missing)
    except RetryError as exc:
        late = exc.last_attempt.result()
        raise StackError(f"the fleet {stack.project} is not ready after {deadline_s:g} s: {', '.join(late)}",
                         fix="look at a host's log: docker compose -p PROJECT logs SERVICE") from None


def fleet_up(fleet: Fleet) -> Path:
    """Build the fleet's images, start it, wait until it serves, and write its inventory; the inventory's path."""
    from chaos.stack.images import build_fleet

    build_fleet()
    ensure_key(fleet)
    stack = fleet.compose()
    stack.up()
    wait_for_hosts(stack)
    path = write_inventory(fleet, stack)
    log.info("fleet_ready", project=fleet.project, inventory=str(path), hosts=len(FLEET))
    return path


def fleet_down(fleet: Fleet) -> None:
    """Remove every host, network and volume of the fleet, its inventory and its key."""
    fleet.compose().down()
    shutil.rmtree(fleet.state, ignore_errors=True)
