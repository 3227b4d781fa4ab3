"""Run tc / iptables inside a target's network namespace from a short-lived helper container.

As Pumba does: `--network container:<id>` with NET_ADMIN, so it works wherever Docker runs
(Docker Desktop included), not only where the host's own namespaces are reachable.
"""

from __future__ import annotations

import contextlib
import functools
import json
import random
import uuid
from pathlib import Path
from typing import Any

from docker.errors import APIError, ContainerError, ImageNotFound, NotFound
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from chaos.errors import EnvironmentProblem, FaultError, UnsupportedFault
from chaos.log import get_logger
from chaos.stack.docker_api import docker_client

log = get_logger(__name__)

NETTOOLS_IMAGE = "entchaos/nettools:latest"


def helper_name() -> str:
    """A unique name for a helper container: what is created but fails to start is found again and removed."""
    return f"entchaos-netns-{uuid.uuid4().hex[:12]}"


def remove_unstarted(name: str) -> None:
    """Remove a helper that was created but never started (`run` creates, then starts: a failed start, e.g. its
    target gone, leaves a `Created` container behind that `remove`/`auto_remove` never reach)."""
    with contextlib.suppress(APIError):  # never created, or already gone
        docker_client().api.remove_container(name, force=True)


def run_in_netns(container_id: str, script: str) -> str:
    """Run `script` in a helper container inside the target's network namespace; its output."""
    name = helper_name()
    try:
        out = docker_client().containers.run(
            NETTOOLS_IMAGE,
            ["sh", "-ec", script],
            name=name,
            network_mode=f"container:{container_id}",
            cap_add=["NET_ADMIN"],
            remove=True,
            stdout=True,
            stderr=True,
            labels={"entchaos.helper": "netns"},
        )
    except ImageNotFound as exc:
        raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
    except APIError:
        remove_unstarted(name)
        raise
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
    """Raise `UnsupportedFault` when this kernel lacks the `kind` qdisc that `fault` needs."""
    if not qdisc_supported(kind):
        raise UnsupportedFault(
            f"fault {fault!r} needs the '{kind}' qdisc, which this kernel does not have",
            fix=f"run it on a kernel with sch_{kind} (modprobe sch_{kind}), or drop the step from the runbook",
        )


AGENT_SOURCE = Path(__file__).with_name("netns_agent.py")
DNS_AGENT_SOURCE = Path(__file__).with_name("dns_agent.py")  # the dns fault's responder


AGENT_LIFETIME_S = 300.0  # an effect check takes seconds; a leftover agent serves five minutes at most


class NetnsAgent:
    """The probe agent (`netns_agent.py`) serving on `port` inside a container's network namespace.

    A detached nettools container (`--network container:<id>`); `run` execs the agent's client modes in it,
    so they too act from that namespace. Removed on exit. Used by the faults' effect checks.
    """

    def __init__(self, container_id: str, port: int | None = None, *, ready_s: float = 15.0) -> None:
        self.container_id = container_id
        self.port = port or random.randint(20000, 29999)
        self.ready_s = ready_s
        self.source = AGENT_SOURCE.read_text()
        self._helper: Any = None

    def __enter__(self) -> NetnsAgent:
        name = helper_name()
        try:
            self._helper = docker_client().containers.run(
                NETTOOLS_IMAGE, ["python3", "-c", self.source, "serve", str(self.port), f"{AGENT_LIFETIME_S:g}"],
                name=name, network_mode=f"container:{self.container_id}", detach=True,
                labels={"entchaos.helper": "netns"},
                auto_remove=True,  # gone by itself once its lifetime ends, even if this process was killed
            )
        except ImageNotFound as exc:
            raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
        except APIError as exc:
            remove_unstarted(name)
            raise FaultError(f"no probe agent in the namespace of {self.container_id[:12]}: {exc}") from exc
        try:
            Retrying(stop=stop_after_delay(self.ready_s), wait=wait_fixed(0.05),
                     retry=retry_if_result(lambda ready: not ready), reraise=True)(self._ready)
        except RetryError:
            self.__exit__()
            raise FaultError(f"the probe agent in the namespace of {self.container_id[:12]} did not start "
                             f"within {self.ready_s:g} s") from None
        except BaseException:
            self.__exit__()
            raise
        return self

    def _ready(self) -> bool:
        self._helper.reload()
        logs = self._helper.logs().decode(errors="replace")
        if self._helper.status == "exited":
            raise FaultError(f"the probe agent in the namespace of {self.container_id[:12]} died: {logs.strip()}",
                             fix=f"is `{NETTOOLS_IMAGE}` built with python3? run `entchaos stack build`")
        return "ready" in logs

    def run(self, mode: str, *args: object) -> dict[str, Any]:
        """Run one of the agent's probes (`mode`: connect, send, udp, count, syn, rtt); its JSON answer."""
        code, out = self._helper.exec_run(["python3", "-c", self.source, mode, *map(str, args)])
        text = out.decode(errors="replace").strip()
        if code != 0:
            raise FaultError(f"probe `{mode} {' '.join(map(str, args))}` failed in the namespace of "
                             f"{self.container_id[:12]}: {text.splitlines()[-1] if text else code}")
        return dict(json.loads(text.splitlines()[-1]))

    def __exit__(self, *exc: object) -> None:
        if self._helper is not None:
            with contextlib.suppress(NotFound, APIError):
                self._helper.remove(force=True)
            self._helper = None


def start_resident(container_id: str, name: str, argv: list[str], *, what: str, label: str,
                   cap_add: tuple[str, ...] = (), ready_s: float = 15.0) -> None:
    """A nettools helper that stays in the target's network namespace while a fault lasts (`argv`: a stdlib agent
    that prints "ready" once serving), started and ready; `FaultError` naming `what` otherwise (and removed)."""
    try:
        helper = docker_client().containers.run(
            NETTOOLS_IMAGE, argv, name=name, network_mode=f"container:{container_id}", detach=True,
            cap_add=list(cap_add), labels={"entchaos.helper": label, "entchaos.target": container_id})
    except ImageNotFound as exc:
        raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
    except APIError as exc:
        remove_unstarted(name)
        raise FaultError(f"no {what} in the namespace of {container_id[:12]}: {exc}") from exc

    def ready() -> bool:
        helper.reload()
        if helper.status == "exited":
            raise FaultError(f"the {what} in {container_id[:12]} died: {helper.logs().decode()[-300:]}",
                             fix=f"is `{NETTOOLS_IMAGE}` built with python3? run `entchaos stack build`")
        return "ready" in helper.logs(stderr=False).decode(errors="replace")

    try:
        Retrying(stop=stop_after_delay(ready_s), wait=wait_fixed(0.05), retry=retry_if_result(lambda ok: not ok),
                 reraise=True)(ready)
    except BaseException as exc:
        remove_unstarted(name)
        if isinstance(exc, RetryError):
            raise FaultError(f"the {what} in {container_id[:12]} did not start within {ready_s:g} s") from None
        raise
