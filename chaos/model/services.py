"""The services a runbook names (a load or probe `target: {service, port}`, a fault's `service` selector, the
ledger's database), checked against the services a compose project declares: at `validate` when the runbook
names its compose file, at `plan` and `run` against the running project."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from chaos.errors import InvalidInput
from chaos.located import Loc
from chaos.log import get_logger
from chaos.safe_yaml import YamlProblem, clip, load_file

log = get_logger(__name__)

_FREE_FORM = ("extravars", "metadata")  # data handed to playbooks, or prose: not references to services


def service_refs(data: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Every `service: NAME` of the runbook's data, with where it is written."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in _FREE_FORM:
                continue
            if key == "service" and isinstance(value, str):
                yield (*loc, key), value
            else:
                yield from service_refs(value, (*loc, str(key)))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from service_refs(value, (*loc, i))


def compose_services(path: str | Path) -> set[str] | None:
    """The service names a compose file declares (None when it cannot be read as one: `plan` checks then)."""
    try:
        _, data = load_file(path, "compose file")
    except (InvalidInput, YamlProblem) as exc:
        log.info("compose_file_not_read_for_services", path=str(path), error=str(exc))
        return None
    services = data.get("services") if isinstance(data, dict) else None
    return {str(k) for k in services} if isinstance(services, dict) else None


def unknown_services(data: Any, known: Collection[str]) -> list[tuple[Loc, str, str]]:
    """(where, name, message) for every service named in `data` that `known` does not have."""
    have = ", ".join(sorted(known)) or "none"
    return [(loc, name, f"expected a service of the project ({clip(have, 200)}), found {name!r}")
            for loc, name in service_refs(data) if name not in known]
