"""What a runbook may tell each playbook: one typed parameter model per playbook, registered by its name.

A playbook step's `extravars` are checked against its playbook's model when the runbook is loaded (unknown keys
are errors). Everything else a playbook uses (containers, volumes, commands, services, the edge's address) is a
fact the toolkit computes from the labelled stack: those names are reserved and no runbook can set them. The
values that pass reach Ansible as data, marked unsafe, never as templates (`chaos.remediation.runner`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from chaos.errors import InvalidInput
from chaos.registry import Registry

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
    """`key` is a fact the toolkit computes (or in a namespace it keeps): no runbook may set it."""
    return key in RESERVED or key.startswith(RESERVED_PREFIXES)


class PlaybookParams(BaseModel):
    """Base of every playbook's parameters: closed (unknown keys are errors), frozen, plain data."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    name: ClassVar[str]  # the playbook's name (its file `playbooks/<name>.yml`), set by `register_playbook`


# Playbook name -> its parameter model: the same registry as faults' and probes' (the models all live below).
PLAYBOOKS: Registry[type[PlaybookParams]] = Registry("playbook", ())


def register_playbook(name: str) -> Callable[[type[PlaybookParams]], type[PlaybookParams]]:
    """A class decorator: `cls` is the parameter model of playbook `name`; none of its fields may be reserved."""
    register = PLAYBOOKS.register(name)

    def decorate(cls: type[PlaybookParams]) -> type[PlaybookParams]:
        clash = [f for f in cls.model_fields if reserved(f)]
        if clash:
            raise ValueError(f"playbook {name}: parameters {clash} are reserved facts of the toolkit")
        return register(cls)

    return decorate


def reserved_keys(extravars: Mapping[str, Any]) -> list[str]:
    """The keys of `extravars` no runbook may set."""
    return [k for k in extravars if isinstance(k, str) and reserved(k)]


def check(name: str, extravars: Mapping[str, Any],
          registry: Mapping[str, type[PlaybookParams]] | None = None) -> PlaybookParams:
    """The typed parameters of one call (pydantic's ValidationError or KeyError when they do not fit)."""
    keys = reserved_keys(extravars)
    if keys:
        raise ValueError(f"{', '.join(keys)}: reserved, computed by the toolkit from the labelled stack")
    model = PLAYBOOKS.get(name) if registry is None else registry[name]
    return model.model_validate(dict(extravars))


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
    """Drain the edge's servers of `datacenter`: no new sessions go there."""

    datacenter: Datacenter


@register_playbook("edge-undrain")
class EdgeUndrain(PlaybookParams):
    """Put the edge's servers of `datacenter` back in service."""

    datacenter: Datacenter


@register_playbook("geo-filter-on")
class GeoFilterOn(PlaybookParams):
    """Switch the edge's geo filter on: sources from abroad get 403."""


@register_playbook("geo-filter-off")
class GeoFilterOff(PlaybookParams):
    """Switch the edge's geo filter off."""


def names(registry: Iterable[str] | None = None) -> list[str]:
    """The playbooks with a parameter model (or the names of `registry`), sorted."""
    return PLAYBOOKS.names() if registry is None else sorted(registry)


def typed_params(name: str, extravars: dict[str, Any]) -> PlaybookParams:
    """A call's parameters through its playbook's model, again at run time (whoever built the step)."""
    if name not in PLAYBOOKS:
        raise InvalidInput(f"playbook {name!r} has no parameter model",
                           fix="register one in chaos/remediation/params.py")
    try:
        return check(name, extravars)
    except (ValidationError, ValueError) as exc:
        raise InvalidInput(f"playbook {name}: extravars do not fit its parameters: {exc}",
                           fix=f"see {PLAYBOOKS.get(name).__name__} in chaos/remediation/params.py") from None
