"""What faults do to containers, through the Docker SDK. Faults stay thin; this is the mechanism."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from docker.errors import APIError, NotFound

from chaos.errors import FaultError
from chaos.log import get_logger
from chaos.stack.docker_api import docker_client
from chaos.stack.labels import CHAOS, CHAOS_ALLOWED, COMPOSE_PROJECT, DATACENTER

log = get_logger(__name__)


def _container(container_id: str):
    try:
        return docker_client().containers.get(container_id)
    except NotFound as exc:
        raise FaultError(f"container {container_id[:12]} is gone") from exc


def exists(container_id: str) -> bool:
    """Whether a container of that id exists (running or not)."""
    try:
        docker_client().api.inspect_container(container_id)
    except NotFound:
        return False
    return True


def is_running(container_id: str) -> bool:
    """Whether the container runs now (False when it is gone)."""
    try:
        return docker_client().api.inspect_container(container_id)["State"]["Running"]
    except NotFound:
        return False


def kill(container_id: str, signal: str = "SIGKILL") -> None:
    """Send `signal` to the container (one that is not running is left as it is)."""
    try:
        _container(container_id).kill(signal=signal)
    except APIError as exc:
        if "is not running" not in str(exc):
            raise FaultError(f"could not kill {container_id[:12]}: {exc}") from exc


def start(container_id: str) -> None:
    """Run the container again: unpause it, or start it when it is stopped."""
    container = _container(container_id)
    if container.status == "paused":
        container.unpause()
    elif container.status != "running":
        container.start()


def pause(container_id: str) -> None:
    """Freeze the container's processes (cgroup freezer)."""
    _container(container_id).pause()


def unpause(container_id: str) -> None:
    """Idempotent: a container that is not paused (or is gone) is left as it is."""
    try:
        container = docker_client().containers.get(container_id)
    except NotFound:
        return
    if container.status == "paused":
        container.unpause()


def networks_of(container_id: str) -> list[str]:
    """The networks the container is connected to, sorted."""
    attrs = docker_client().api.inspect_container(container_id)
    return sorted((attrs["NetworkSettings"].get("Networks") or {}).keys())


def disconnect(container_id: str, network: str) -> None:
    """Cut the container from `network` (idempotent: a gone container or a missing link is fine)."""
    try:
        docker_client().api.disconnect_container_from_network(container_id, network, force=True)
    except NotFound:
        return
    except APIError as exc:
        if "is not connected" not in str(exc):
            raise FaultError(f"could not cut {container_id[:12]} from {network}: {exc}") from exc


def connect(container_id: str, network: str, aliases: list[str] | None = None) -> None:
    """Connect the container to `network` with its `aliases` (idempotent: an existing link is fine)."""
    try:
        docker_client().api.connect_container_to_network(container_id, network, aliases=aliases)
    except APIError as exc:
        if "already exists" not in str(exc):
            raise FaultError(f"could not reconnect {container_id[:12]} to {network}: {exc}") from exc


def remove(container_id: str) -> None:
    """Remove the container by force (SIGKILL if it runs), keeping its volumes; a gone one is fine."""
    try:
        docker_client().api.remove_container(container_id, force=True, v=False)
    except NotFound:
        return


def mounted_volumes(container_id: str) -> list[str]:
    """The named volumes a container mounts (binds and tmpfs are not volumes; a gone container mounts nothing)."""
    try:
        mounts = docker_client().api.inspect_container(container_id).get("Mounts") or []
    except NotFound:
        return []
    return sorted({m["Name"] for m in mounts if m.get("Type") == "volume" and m.get("Name")})


def volume_labels(name: str) -> dict[str, str] | None:
    """A volume's labels; None when it does not exist."""
    try:
        return dict(docker_client().api.inspect_volume(name).get("Labels") or {})
    except NotFound:
        return None


def volume_users(name: str) -> list[str]:
    """Ids of every container (running or not) that mounts the volume."""
    return sorted(c["Id"] for c in docker_client().api.containers(all=True, filters={"volume": [name]}))


@dataclass(frozen=True)
class VolumeVerdict:
    """What a destructive fault may do to the volumes of its targets: destroy some, keep the others (why)."""

    destroy: tuple[str, ...]
    kept: dict[str, str]  # volume -> why it is kept


def destroyable_volumes(container_ids: Iterable[str]) -> VolumeVerdict:
    """The volumes the containers mount that are labelled `entchaos.chaos=allowed` and used by no other container.

    The blast radius of a fault that destroys data: never a volume outside its targets, never one without the chaos
    label (whatever its datacenter label says), never one another container still uses.
    """
    ids = set(container_ids)
    destroy, kept = [], {}
    for name in sorted({v for cid in ids for v in mounted_volumes(cid)}):
        labels = volume_labels(name)
        if labels is None:
            continue
        others = [u[:12] for u in volume_users(name) if u not in ids]
        if labels.get(CHAOS) != CHAOS_ALLOWED:
            kept[name] = f"not labelled {CHAOS}={CHAOS_ALLOWED}"
        elif others:
            kept[name] = f"also mounted by {', '.join(others)}"
        else:
            destroy.append(name)
    return VolumeVerdict(tuple(destroy), kept)


def remove_volume(name: str) -> None:
    """Destroy a named volume (a gone one is fine)."""
    try:
        docker_client().api.remove_volume(name, force=True)
    except NotFound:
        return
    except APIError as exc:
        raise FaultError(f"could not destroy volume {name}: {exc}") from exc
    log.info("volume_destroyed", volume=name)


def read_file(container_id: str, path: str) -> bytes | None:
    """A file's bytes from inside a container (None when it does not exist, e.g. not written yet)."""
    import io
    import tarfile

    from docker.errors import NotFound

    try:
        stream, _ = _container(container_id).get_archive(path)
    except NotFound:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        member = tar.extractfile(tar.getmembers()[0])
        return member.read() if member is not None else None


def write_file(container_id: str, path: str, text: str) -> None:
    """Put a small text file into a container (e.g. a load profile for a generator running there)."""
    import io
    import posixpath
    import tarfile

    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(posixpath.basename(path))
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    _container(container_id).put_archive(posixpath.dirname(path) or "/", buffer.getvalue())


def state(container_id: str) -> str:
    """`running`, `paused`, `exited`, `created` … or `gone` when the container no longer exists."""
    try:
        return str(docker_client().api.inspect_container(container_id)["State"]["Status"])
    except NotFound:
        return "gone"


def volume_exists(name: str) -> bool:
    """Whether a named volume exists."""
    try:
        docker_client().api.inspect_volume(name)
    except NotFound:
        return False
    return True


def datacenter_states(project: str, datacenter: str) -> dict[str, str]:
    """Each compose service of the datacenter → its container's state (the newest container of each service)."""
    filters = {"label": [f"{COMPOSE_PROJECT}={project}", f"{DATACENTER}={datacenter}"]}
    found: dict[str, tuple[str, str]] = {}
    for c in docker_client().api.containers(all=True, filters=filters):
        service = (c.get("Labels") or {}).get("com.docker.compose.service", c["Id"][:12])
        if service not in found or c["Created"] > int(found[service][0]):
            found[service] = (str(c["Created"]), c["State"])
    return {service: st for service, (_, st) in sorted(found.items())}


def addresses(container_id: str) -> dict[str, str]:
    """Network name → the container's IPv4 address on it."""
    attrs = docker_client().api.inspect_container(container_id)
    nets = attrs["NetworkSettings"].get("Networks") or {}
    return {name: n["IPAddress"] for name, n in nets.items() if n.get("IPAddress")}


def peer_on(project: str, network: str, exclude: set[str]) -> tuple[str, str] | None:
    """A running container of the project on `network`, not in `exclude`: (id, its address there)."""
    filters = {"label": [f"{COMPOSE_PROJECT}={project}"], "network": [network], "status": ["running"]}
    for c in sorted(docker_client().api.containers(filters=filters), key=lambda c: c["Names"][0]):
        if c["Id"] in exclude:
            continue
        ip = ((c.get("NetworkSettings") or {}).get("Networks") or {}).get(network, {}).get("IPAddress")
        if ip:
            return c["Id"], ip
    return None


def peer_of(container_id: str, project: str, exclude: set[str],
            network_only: str | None = None) -> tuple[str, str, str, str] | None:
    """A running peer sharing a network with the container (that one network, if given): (peer id, network, peer
    address, container address)."""
    for network, ip in sorted(addresses(container_id).items()):
        if network_only is not None and network != network_only:
            continue
        found = peer_on(project, network, exclude | {container_id})
        if found is not None:
            return found[0], network, found[1], ip
    return None


def service_of(container_id: str) -> str:
    """The compose service of a container (its short id when it has none)."""
    try:
        labels = docker_client().api.inspect_container(container_id)["Config"].get("Labels") or {}
    except NotFound:
        return container_id[:12]
    return str(labels.get("com.docker.compose.service") or container_id[:12])
