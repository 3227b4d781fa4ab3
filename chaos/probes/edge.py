"""The edge's view of its backends, through HAProxy's runtime API (TCP, published on 127.0.0.1)."""

from __future__ import annotations

import csv
import io
import re
import socket
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from chaos.errors import InvalidInput, ProbeFailed
from chaos.log import get_logger
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe

log = get_logger(__name__)

APP_BACKEND = "ent_app"

# HAProxy's runtime API chains commands on `;` and newlines and splits words on spaces: a word put into a command
# (backend, server, table, map key) is one plain name, and a whole line is plain words (no `;`, `#`, quote,
# backslash or control character). Runbook values are held to `NAME` by the probes' parameter models.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
NAME = re.compile(NAME_PATTERN)
LINE = re.compile(r"^[A-Za-z0-9_./:=,-]+( [A-Za-z0-9_./:=,-]+)*$")
STATES = ("ready", "drain", "maint")
HaproxyName = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]


def plain_name(value: str, what: str) -> str:
    """`value` when it is one plain word for the runtime API; InvalidInput otherwise (nothing is sent)."""
    if not isinstance(value, str) or not NAME.match(value) or ".." in value:
        raise InvalidInput(f"{what} {value!r} is not a plain name for HAProxy's runtime API",
                           fix="letters, digits, `_`, `.`, `:` and `-` only")
    return value


def plain_line(line: str) -> str:
    if not isinstance(line, str) or len(line) > 512 or not LINE.match(line):
        raise InvalidInput(f"refused to send {line!r} to HAProxy's runtime API: not one plain command",
                           fix="commands are built from checked names (plain_name), never from raw text")
    return line


@dataclass(frozen=True)
class ServerState:
    backend: str
    server: str
    status: str  # UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2" (going down), "DOWN 1/2" (going up) ...
    backup: bool
    last_change_s: int  # seconds since the last status change
    check_status: str
    current_sessions: int
    queued: int
    total_sessions: int

    @property
    def is_up(self) -> bool:
        # "UP 1/2" is still up (a check failed, not yet `fall` of them): HAProxy sends it traffic.
        return self.status.startswith("UP") or self.status == "no check"

    @property
    def is_down(self) -> bool:
        return not self.is_up


class EdgeAPI:
    """A thin client of HAProxy's runtime API; one connection per command."""

    def __init__(self, host: str, port: int, timeout_s: float = 3.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s

    def command(self, line: str) -> str:
        plain_line(line)
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout_s) as sock:
                sock.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            raise ProbeFailed(
                f"HAProxy runtime API at {self.host}:{self.port} did not answer `{line}`: {exc}",
                fix="is the edge up? `entchaos stack status`",
            ) from exc
        return b"".join(chunks).decode(errors="replace")

    def servers(self, backend: str | None = APP_BACKEND) -> list[ServerState]:
        if backend is not None:
            plain_name(backend, "backend")
        text = self.command("show stat")
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        states = []
        for row in rows:
            if row.get("svname") in ("FRONTEND", "BACKEND") or not row.get("svname"):
                continue
            if backend and row["pxname"] != backend:
                continue
            states.append(
                ServerState(
                    backend=row["pxname"],
                    server=row["svname"],
                    status=row["status"],
                    backup=row.get("bck") == "1",
                    last_change_s=int(row.get("lastchg") or 0),
                    check_status=row.get("check_status", ""),
                    current_sessions=int(row.get("scur") or 0),
                    queued=int(row.get("qcur") or 0),
                    total_sessions=int(row.get("stot") or 0),
                )
            )
        return states

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        """state: ready, drain or maint."""
        plain_name(backend, "backend")
        plain_name(server, "server")
        if state not in STATES:
            raise InvalidInput(f"server state {state!r} is not one of {', '.join(STATES)}")
        answer = self.command(f"set server {backend}/{server} state {state}").strip()
        if answer:
            raise ProbeFailed(f"HAProxy refused `set server {backend}/{server} state {state}`: {answer}")
        log.info("edge_server_state_set", backend=backend, server=server, state=state)

# ---- runbook probes -------------------------------------------------------------------------------------------




class _ServersParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    datacenter: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")] | None = None  # None: all
    backend: HaproxyName = APP_BACKEND


class _EdgeServers(Probe):
    """Counts the edge's app servers (not the backup) of a datacenter, by what HAProxy says of them."""

    Params = _ServersParams
    want_up: bool

    def measure(self, ctx: ProbeContext) -> Measurement:
        stack = ctx.stack
        datacenter_of = getattr(self, "_dc_of", None)
        if datacenter_of is None:  # from the compose file: a burned service has no container to ask
            labels = stack.services_by_label()  # type: ignore[attr-defined]
            datacenter_of = self._dc_of = {s: lab.get("entchaos.datacenter") for s, lab in labels.items()}
        host, port = stack.edge_api()  # type: ignore[attr-defined]
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
