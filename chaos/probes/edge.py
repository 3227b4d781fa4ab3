"""The edge's view of its backends, through HAProxy's runtime API (TCP, published on 127.0.0.1)."""

from __future__ import annotations

import csv
import io
import socket
from dataclasses import dataclass

from chaos.errors import ProbeFailed
from chaos.logging import get_logger

log = get_logger(__name__)

APP_BACKEND = "ent_app"


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
        answer = self.command(f"set server {backend}/{server} state {state}").strip()
        if answer:
            raise ProbeFailed(f"HAProxy refused `set server {backend}/{server} state {state}`: {answer}")
        log.info("edge_server_state_set", backend=backend, server=server, state=state)
