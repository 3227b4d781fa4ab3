"""The fault proxy in a target's network namespace: how `latency` (proxy mode) and `http-fault` work without netem.

As Chaos Mesh's HTTPChaos does, traffic to one port of the target is sent, by an iptables REDIRECT in the target's
own namespace (nat PREROUTING: only what arrives from other hosts; the target's own loopback traffic, its health
checks, is untouched), to a proxy serving in that namespace (`proxy_agent.py` in a nettools helper container
sharing it), which forwards each connection to where it was going, with the fault's rules applied.

Only new connections go through the proxy: one opened before the REDIRECT keeps going straight to the service
(conntrack decided its path), and is cut when the proxy is removed only if it went through it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from docker.errors import APIError, NotFound

from chaos.log import get_logger
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import run_in_netns, start_resident

log = get_logger(__name__)

PROXY_SOURCE = Path(__file__).with_name("proxy_agent.py")
PROXY_PORT = 15999  # where the proxy listens in the target's namespace
TAG = "entchaos-proxy"  # the REDIRECT rules' comment: what the revert removes
HELPER_LABEL = "proxy"  # entchaos.helper=proxy on the helper containers
REPORT_S = 0.1  # how often the proxy writes its counts (proxy_agent.REPORT_S)


def redirect_script(port: int) -> str:
    """The REDIRECT of new connections to `port` (from elsewhere) to the proxy."""
    return (f"iptables -t nat -I PREROUTING -p tcp --dport {port} -m comment --comment {TAG} "
            f"-j REDIRECT --to-ports {PROXY_PORT}")


UNREDIRECT_SCRIPT = f"iptables-save -t nat | grep -v -- '--comment {TAG}' | iptables-restore -T nat"


def start(container_id: str, name: str, rules: dict[str, Any], *, ready_s: float = 15.0) -> None:
    """The proxy with `rules` serving in the target's namespace (helper `name`), ready."""
    start_resident(container_id, name, ["python3", "-c", PROXY_SOURCE.read_text(), str(PROXY_PORT),
                                        json.dumps(rules)], what="fault proxy", label=HELPER_LABEL, ready_s=ready_s)


def counts(name: str) -> dict[str, int]:
    """What the proxy did so far (connections, aborted, requests, faulted, delayed), from its last report."""
    with contextlib.suppress(NotFound, APIError):
        lines = docker_client().containers.get(name).logs(stdout=False).decode(errors="replace").splitlines()
        for line in reversed(lines):
            with contextlib.suppress(ValueError):
                return dict(json.loads(line))
    return {}


def stop(name: str) -> None:
    """The proxy's helper removed (idempotent)."""
    with contextlib.suppress(NotFound, APIError):
        docker_client().api.remove_container(name, force=True)


def redirect(container_id: str, port: int) -> None:
    run_in_netns(container_id, redirect_script(port))


def unredirect(container_id: str) -> None:
    """Every REDIRECT to the proxy removed from the target's namespace, however many runs left (idempotent)."""
    run_in_netns(container_id, UNREDIRECT_SCRIPT)


def redirected_ports(container_id: str) -> list[int]:
    """The ports whose new connections go to the proxy now."""
    rules = run_in_netns(container_id, "iptables -t nat -S PREROUTING")
    return sorted(int(line.split("--dport ")[1].split()[0]) for line in rules.splitlines()
                  if TAG in line and "--dport " in line)


def leftovers(project: str | None = None) -> list[str]:
    """Names of the proxy helpers still there (of `project`'s targets, or all)."""
    found = docker_client().containers.list(all=True, filters={"label": f"entchaos.helper={HELPER_LABEL}"})
    return sorted(c.name for c in found)
