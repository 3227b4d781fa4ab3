"""HAProxy's runtime API (TCP, published on 127.0.0.1): the one client of the edge's runtime API.

Used by the edge probes, the stack's health view and the Ansible modules of `playbooks/library` (run with the
toolkit's own interpreter, so they import it as any module of the toolkit). Standard library only (and
`chaos.errors`): a module run by Ansible loads nothing heavy.

The runtime API chains commands on `;` and newlines and splits words on spaces: a word put into a command
(backend, server, table, map key) is one plain name, a map is one plain path, and a whole line is plain words
(no `;`, `#`, quote, backslash or control character). Nothing else is sent.
"""

from __future__ import annotations

import csv
import io
import re
import socket
from dataclasses import dataclass

from chaos.errors import InvalidInput, ProbeFailed

APP_BACKEND = "ent_app"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
NAME = re.compile(NAME_PATTERN)  # backend, server, table, map key
MAP_PATH = re.compile(r"^/[A-Za-z0-9_./-]{1,255}$")
LINE = re.compile(r"^[A-Za-z0-9_./:=,-]+( [A-Za-z0-9_./:=,-]+)*$")
STATES = ("ready", "drain", "maint")


def plain_name(value: str, what: str, pattern: re.Pattern[str] = NAME) -> str:
    """`value` when it is one plain word (`pattern`: a name, or `MAP_PATH`) for the runtime API; InvalidInput
    naming `what` otherwise (nothing is sent)."""
    if not isinstance(value, str) or not pattern.match(value) or ".." in value:
        raise InvalidInput(f"{what} {value!r} is not a plain name for HAProxy's runtime API",
                           fix="letters, digits, `_`, `.`, `:` and `-` only" if pattern is NAME else None)
    return value


def plain_line(line: str) -> str:
    """`line` when it is one command of plain words; InvalidInput otherwise (nothing is sent)."""
    if not isinstance(line, str) or len(line) > 512 or not LINE.match(line):
        raise InvalidInput(f"refused to send {line!r} to HAProxy's runtime API: not one plain command",
                           fix="commands are built from checked names (plain_name), never from raw text")
    return line


@dataclass(frozen=True)
class ServerState:
    """One server of a backend as `show stat` reports it."""

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
        """Send one plain command (`plain_line`); its whole answer. ProbeFailed when the API does not answer."""
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
        """The servers (not the FRONTEND/BACKEND rows) of `backend`, or of every backend when None."""
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
        """state: ready, drain or maint. ProbeFailed when HAProxy refuses (its answer says why)."""
        plain_name(backend, "backend")
        plain_name(server, "server")
        if state not in STATES:
            raise InvalidInput(f"server state {state!r} is not one of {', '.join(STATES)}")
        answer = self.command(f"set server {backend}/{server} state {state}").strip()
        if answer:
            raise ProbeFailed(f"HAProxy refused `set server {backend}/{server} state {state}`: {answer}")
