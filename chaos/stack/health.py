"""Wait until the stack is healthy: every service running and healthy, the edge seeing every replica up."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tenacity import RetryError, retry, retry_if_exception_type, stop_after_delay, wait_fixed

from chaos.errors import ProbeFailed, StackError
from chaos.log import get_logger
from chaos.stack.compose import ComposeStack
from chaos.stack.docker_api import docker_client
from chaos.stack.haproxy_runtime import EdgeAPI, ServerState
from chaos.stack.interface import Target

log = get_logger(__name__)


class NotReadyYet(Exception):
    """Raised inside the poll while the stack is still coming up."""


@dataclass
class Readiness:
    """A stack found ready: its containers and the edge's view of its servers."""

    targets: list[Target]
    edge: list[ServerState]


def edge_view(stack: ComposeStack) -> list[ServerState]:
    """The edge's servers as HAProxy sees them (none when the stack has no edge, or an edge without HAProxy's
    runtime API: then only the probes that read it are unavailable, and they say so)."""
    if not any(t.role == "edge" for t in stack.targets()):
        return []
    try:
        host, port = stack.edge_api()
    except StackError:
        log.info("edge_without_runtime_api", service=stack.edge_service(),
                 consequence="the edge's view of its servers is not checked; edge-* probes are unavailable")
        return []
    return EdgeAPI(host, port).servers()


def _last_log_lines(target: Target, lines: int = 5) -> str:
    try:
        raw = docker_client().api.logs(target.id, tail=lines).decode(errors="replace")
    except Exception:  # logs are a courtesy in an error message
        return ""
    return " | ".join(raw.strip().splitlines())


def check_ready(stack: ComposeStack, expected_services: set[str]) -> Readiness:
    """The stack's readiness now; `NotReadyYet` while it comes up, `StackError` when a container died."""
    targets = stack.targets()
    for t in targets:
        if t.status in ("exited", "dead") and t.service in expected_services:
            raise StackError(
                f"container {t.name} ({t.datacenter}/{t.role}) {t.status}: {_last_log_lines(t)}",
                fix="see `docker logs " + t.name + "`; `entchaos stack down` then `up` starts afresh",
            )
    missing = expected_services - {t.service for t in targets}
    if missing:
        raise NotReadyYet(f"services not created yet: {sorted(missing)}")
    waiting = [t.service for t in targets if t.status != "running" or t.health not in (None, "healthy")]
    if waiting:
        raise NotReadyYet(f"not running/healthy yet: {waiting}")
    try:
        edge = edge_view(stack)
    except ProbeFailed as exc:
        raise NotReadyYet(str(exc)) from exc
    down = [s.server for s in edge if not s.backup and not s.status.startswith("UP")]
    if down:
        raise NotReadyYet(f"edge does not see these replicas up yet: {down}")
    return Readiness(targets, edge)


def wait_ready(stack: ComposeStack, *, deadline_s: float = 240.0, services: set[str] | None = None) -> Readiness:
    """Poll `check_ready` every second until the stack is ready; `StackError` after `deadline_s`."""
    expected = services if services is not None else set(stack.services())
    started = time.monotonic()
    last: list[str] = [""]

    @retry(
        retry=retry_if_exception_type(NotReadyYet),
        stop=stop_after_delay(deadline_s),
        wait=wait_fixed(1.0),
        reraise=False,
    )
    def poll() -> Readiness:
        try:
            return check_ready(stack, expected)
        except NotReadyYet as exc:
            if str(exc) != last[0]:
                log.info("stack_waiting", project=stack.project, reason=str(exc))
                last[0] = str(exc)
            raise

    try:
        ready = poll()
    except RetryError as exc:
        raise StackError(
            f"stack {stack.project!r} not ready after {deadline_s:.0f} s: {last[0]}",
            fix="`entchaos stack status` shows each container; `docker logs <name>` tells why",
        ) from exc
    log.info("stack_ready", project=stack.project, seconds=round(time.monotonic() - started, 1))
    return ready
