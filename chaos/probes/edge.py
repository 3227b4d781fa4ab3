"""The edge's view of its backends, through HAProxy's runtime API (`chaos.stack.haproxy_runtime`, its client)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

from chaos.errors import ProbeFailed
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.haproxy_runtime import APP_BACKEND, NAME_PATTERN, EdgeAPI

# Runbook values put into a runtime API command are held to one plain name by the probes' parameter models.
HaproxyName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


class _ServersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datacenter: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")] | None = None  # None: all
    backend: HaproxyName = APP_BACKEND


class _EdgeServers(Probe[_ServersParams]):
    """Counts the edge's app servers (not the backup) of a datacenter, by what HAProxy says of them."""

    want_up: ClassVar[bool]
    _dc_of: dict[str, str | None] | None = None  # service -> datacenter, read once

    def measure(self, ctx: ProbeContext) -> Measurement:
        stack = ctx.stack
        datacenter_of = self._dc_of
        if datacenter_of is None:  # from the compose file: a burned service has no container to ask
            labels = stack.services_by_label()
            datacenter_of = self._dc_of = {s: lab.get("entchaos.datacenter") for s, lab in labels.items()}
        host, port = stack.edge_api()
        servers = [
            s for s in EdgeAPI(host, port).servers(self.params.backend)
            if not s.backup
            and (self.params.datacenter is None or datacenter_of.get(s.server) == self.params.datacenter)
        ]
        if not servers:
            raise ProbeFailed(f"the edge has no app server in datacenter {self.params.datacenter!r}")
        return sum(1 for s in servers if s.is_up == self.want_up)


@register_probe("edge-servers-down")
class EdgeServersDown(_EdgeServers):
    want_up = False


@register_probe("edge-servers-up")
class EdgeServersUp(_EdgeServers):
    want_up = True
