"""Run tc / iptables inside a target's network namespace from a short-lived helper container.

As Pumba does: `--network container:<id>` with NET_ADMIN, so it works wherever Docker runs
(Docker Desktop included), not only where the host's own namespaces are reachable.
"""

from __future__ import annotations

import functools

from docker.errors import ContainerError, ImageNotFound

from chaos.errors import EnvironmentProblem, FaultError, UnsupportedFault
from chaos.logging import get_logger
from chaos.stack.docker_api import docker_client

log = get_logger(__name__)

NETTOOLS_IMAGE = "entchaos/nettools:latest"


def run_in_netns(container_id: str, script: str) -> str:
    try:
        out = docker_client().containers.run(
            NETTOOLS_IMAGE,
            ["sh", "-ec", script],
            network_mode=f"container:{container_id}",
            cap_add=["NET_ADMIN"],
            remove=True,
            stdout=True,
            stderr=True,
            labels={"entchaos.helper": "netns"},
        )
    except ImageNotFound as exc:
        raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
    except ContainerError as exc:
        stderr = (exc.stderr or b"").decode(errors="replace").strip()
        raise FaultError(f"in the network namespace of {container_id[:12]}: `{script}` failed: {stderr}") from exc
    return out.decode(errors="replace")


@functools.cache
def qdisc_supported(kind: str) -> bool:
    """Try the qdisc in a throwaway namespace: the kernel answers 'unknown' when it lacks it."""
    probe = {
        "netem": "tc qdisc add dev lo root netem delay 1ms",
        "tbf": "tc qdisc add dev lo root tbf rate 1mbit burst 32kbit latency 50ms",
    }[kind]
    try:
        docker_client().containers.run(
            NETTOOLS_IMAGE, ["sh", "-ec", probe], cap_add=["NET_ADMIN"], network_mode="bridge", remove=True
        )
    except ContainerError:
        return False
    return True


def require_qdisc(kind: str, fault: str) -> None:
    if not qdisc_supported(kind):
        raise UnsupportedFault(
            f"fault {fault!r} needs the '{kind}' qdisc, which this kernel does not have",
            fix=f"run it on a kernel with sch_{kind} (modprobe sch_{kind}), or drop the step from the runbook",
        )
