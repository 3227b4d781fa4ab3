"""What this machine's kernel and engine can do for the faults: each capability tried for real, once, in a
throwaway namespace (a helper container on the default bridge, removed at once), never guessed from versions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from docker.errors import APIError, ContainerError, DockerException, ImageNotFound

from chaos.errors import DockerUnavailable
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import NETTOOLS_IMAGE


@dataclass(frozen=True)
class Capability:
    """One thing a fault needs from the kernel, with the command that proves it here."""

    name: str
    what: str
    probe: str = ""  # run by `sh -ec` in a throwaway namespace with NET_ADMIN: exit 0 means supported
    engine: tuple[str, str] | None = None  # or: (cgroup driver, cgroup version) the engine must report


CAPABILITIES = {c.name: c for c in (
    Capability("tbf", "the tbf qdisc (sch_tbf)",
               "tc qdisc add dev lo root tbf rate 1mbit burst 32kbit latency 50ms"),
    Capability("netem", "the netem qdisc (sch_netem)", "tc qdisc add dev lo root netem delay 1ms"),
    Capability("iptables", "iptables filter rules (a target's own namespace)", "iptables -A OUTPUT -o lo -j ACCEPT"),
    Capability("iptables-statistic", "iptables' statistic match (xt_statistic)",
               "iptables -A OUTPUT -o lo -m statistic --mode random --probability 0.5 -j ACCEPT"),
    Capability("iptables-redirect", "iptables' nat REDIRECT (xt_REDIRECT)",
               "iptables -t nat -A PREROUTING -p tcp --dport 1 -j REDIRECT --to-ports 2"),
    Capability("iptables-string", "iptables' string match (xt_string)",
               "iptables -A OUTPUT -o lo -p udp -m string --algo bm --hex-string '|03|abc|00|' -j ACCEPT"),
    Capability("cgroup-v1-nesting", "a child cgroup under a container's (cgroup v1, cgroupfs driver)",
               engine=("cgroupfs", "1")),
)}


@functools.cache
def supported(name: str) -> bool | None:
    """True or False as tried here; None when it cannot be tried (no Docker engine, no nettools image)."""
    capability = CAPABILITIES[name]
    try:
        if capability.engine is not None:
            info = docker_client().info()
            return (info.get("CgroupDriver"), str(info.get("CgroupVersion", "1"))) == capability.engine
        docker_client().containers.run(NETTOOLS_IMAGE, ["sh", "-ec", capability.probe], cap_add=["NET_ADMIN"],
                                       network_mode="bridge", remove=True, labels={"entchaos.helper": "probe"})
    except ContainerError:
        return False
    except (ImageNotFound, APIError, DockerException, DockerUnavailable):
        return None
    return True
