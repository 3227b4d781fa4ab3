"""What a runbook may tell each playbook: one typed parameter model per playbook, registered by its name.

A playbook step's `extravars` are checked against its playbook's model when the runbook is loaded (unknown keys
are errors). Everything else a playbook uses (containers, volumes, commands, services, the edge's address) is a
fact the toolkit computes from the labelled stack: those names are reserved and no runbook can set them. The
values that pass reach Ansible as data, marked unsafe, never as templates (`chaos.remediation.runner`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from chaos.errors import InvalidInput

# A datacenter as the label `entchaos.datacenter` names it: a word, no space, no quote, no Jinja, no separator.
LABEL_VALUE = r"^[a-z0-9][a-z0-9_.-]{0,62}$"
Datacenter = Annotated[str, StringConstraints(pattern=LABEL_VALUE)]

# Facts the toolkit computes (chaos.remediation.facts.stack_facts and the per-playbook facts): never from a runbook.
RESERVED = frozenset({
    "project", "compose_file", "compose_cmd", "compose_env", "stack_services", "services_by_datacenter",
    "sync_replication", "edge_api_host", "edge_api_port", "datacenter_services", "datacenter_volumes",
    "edge_servers", "targets", "target_ids", "volumes", "services", "command", "commands", "playbook_dir",
    "inventory_hostname", "hostvars", "groups", "environment", "vars",
})
RESERVED_PREFIXES = ("ansible_", "entchaos_", "_")


def reserved(key: str) -> bool:
    return key in RESERVED or key.startswith(RESERVED_PREFIXES)


class PlaybookParams(BaseModel):
    """Base of every playbook's parameters: closed (unknown keys are errors), frozen, plain data."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


PLAYBOOK_PARAMS: dict[str, type[PlaybookParams]] = {}


def register_playbook(name: str) -> Callable[[type[PlaybookParams]], type[PlaybookParams]]:
    def decorate(cls: type[PlaybookParams]) -> type[PlaybookParams]:
        clash = [f for f in cls.model_fields if reserved(f)]
        if clash:
            raise ValueError(f"playbook {name}: parameters {clash} are reserved facts of the toolkit")
        if name in PLAYBOOK_PARAMS and PLAYBOOK_PARAMS[name] is not cls:
            raise ValueError(f"playbook {name!r} registered twice")
        PLAYBOOK_PARAMS[name] = cls
        return cls

    return decorate


def reserved_keys(extravars: Mapping[str, Any]) -> list[str]:
    return [k for k in extravars if isinstance(k, str) and reserved(k)]


def check(name: str, extravars: Mapping[str, Any],
          registry: Mapping[str, type[PlaybookParams]] | None = None) -> PlaybookParams:
    """The typed parameters of one call (pydantic's ValidationError or KeyError when they do not fit)."""
    registry = PLAYBOOK_PARAMS if registry is None else registry
    keys = reserved_keys(extravars)
    if keys:
        raise ValueError(f"{', '.join(keys)}: reserved, computed by the toolkit from the labelled stack")
    return registry[name].model_validate(dict(extravars))


# ---- the shipped playbooks (playbooks/*.yml) -------------------------------------------------------------------


@register_playbook("failover-database")
class FailoverDatabase(PlaybookParams):
    """Fence the databases of `failed_datacenter`, promote a chaos-allowed standby elsewhere."""

    failed_datacenter: Datacenter


@register_playbook("rebuild-datacenter")
class RebuildDatacenter(PlaybookParams):
    """Recreate the chaos-allowed services of `datacenter` and their chaos-allowed volumes, empty."""

    datacenter: Datacenter


@register_playbook("edge-drain")
class EdgeDrain(PlaybookParams):
    datacenter: Datacenter


@register_playbook("edge-undrain")
class EdgeUndrain(PlaybookParams):
    datacenter: Datacenter


@register_playbook("geo-filter-on")
class GeoFilterOn(PlaybookParams):
    pass


@register_playbook("geo-filter-off")
class GeoFilterOff(PlaybookParams):
    pass


def names(registry: Iterable[str] | None = None) -> list[str]:
    return sorted(PLAYBOOK_PARAMS if registry is None else registry)


def typed_params(name: str, extravars: dict[str, Any]) -> PlaybookParams:
    """A call's parameters through its playbook's model, again at run time (whoever built the step)."""
    if name not in PLAYBOOK_PARAMS:
        raise InvalidInput(f"playbook {name!r} has no parameter model",
                           fix="register one in chaos/remediation/params.py")
    try:
        return check(name, extravars)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"playbook {name}: extravars do not fit its parameters: {exc}",
                           fix=f"see {PLAYBOOK_PARAMS[name].__name__} in chaos/remediation/params.py") from None
