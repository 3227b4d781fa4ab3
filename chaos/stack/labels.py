"""The labels entchaos reads, and the containers they select (targets, never names)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chaos.stack.interface import Target

DATACENTER = "entchaos.datacenter"
ROLE = "entchaos.role"
CHAOS = "entchaos.chaos"
CHAOS_ALLOWED = "allowed"
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
ROLES = ("edge", "app", "db", "fallback", "client")


def target_from_attrs(attrs: Mapping[str, Any]) -> Target:
    """A `Target` from what `docker inspect` says of a container (its labels, state and networks)."""
    labels = attrs["Config"]["Labels"] or {}
    state = attrs["State"]
    return Target(
        id=attrs["Id"],
        name=attrs["Name"].lstrip("/"),
        service=labels.get(COMPOSE_SERVICE, attrs["Name"].lstrip("/")),
        datacenter=labels.get(DATACENTER, "-"),
        role=labels.get(ROLE, "-"),
        chaos_allowed=labels.get(CHAOS) == CHAOS_ALLOWED,
        status=state.get("Status", "unknown"),
        health=(state.get("Health") or {}).get("Status"),
        networks=tuple(sorted((attrs["NetworkSettings"].get("Networks") or {}).keys())),
    )


def matches(target: Target, criteria: Mapping[str, str]) -> bool:
    """`criteria` uses the short keys a runbook uses: datacenter, role, service."""
    for key, wanted in criteria.items():
        value = getattr(target, key, None)
        if value is None or str(value) != str(wanted):
            return False
    return True


def select(targets: Iterable[Target], criteria: Mapping[str, str], *, chaos_only: bool = True) -> list[Target]:
    """The targets matching every criterion, sorted by service; only chaos-allowed ones unless told otherwise."""
    chosen = [t for t in targets if matches(t, criteria)]
    if chaos_only:
        chosen = [t for t in chosen if t.chaos_allowed]
    return sorted(chosen, key=lambda t: t.service)
