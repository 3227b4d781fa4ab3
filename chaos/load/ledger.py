"""The acknowledged-write ledger: proof (or disproof) of "no acknowledged work lost".

Every write a journey marks (`ledger_key`: on the ENT, each homework submission) is written down with the key the
journey generates (a uuid4, the idempotency key the app stores). An attempt is *acknowledged* when the app served
it with a status the step expects (the ENT's app answers 201 only after commit).

After a fault, the keys read from the database are compared with the ledger:

- `lost`: acknowledged, missing from the database (a broken promise: the runbook fails);
- `unacked_present`: attempted, never acknowledged, yet present (the ack was lost on the way: allowed);
- `foreign_present`: present, never attempted by this run (seed data or another client: reported, not judged).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import ProbeFailed
from chaos.load.classify import APP, CLASSES
from chaos.log import get_logger

log = get_logger(__name__)


@dataclass
class WriteAttempt:
    """One homework submission: its key, when it was meant to be sent, and when (if ever) it was acknowledged."""

    key: str
    intended_unix: float
    ack_unix: float | None = None
    status: int = 0
    outcome: str = "pending"  # a response class name once answered
    replica: str | None = None
    datacenter: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.ack_unix is not None


@dataclass
class LedgerCheck:
    """The ledger against the database: acknowledged writes lost, unacknowledged ones present anyway."""

    attempted: int
    acknowledged: int
    present: int
    lost: list[str] = field(default_factory=list)
    unacked_present: list[str] = field(default_factory=list)
    foreign_present: int = 0

    @property
    def ok(self) -> bool:
        return not self.lost

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(lost_acked_writes=len(self.lost), ok=self.ok)
        return d


class WriteLedger:
    """Every write the load attempted, by idempotency key: what the database must hold afterwards."""

    def __init__(self) -> None:
        self.attempts: dict[str, WriteAttempt] = {}
        self._changed: set[str] = set()  # keys attempted or answered since the last `take_changed`

    def attempt(self, key: str, intended_unix: float) -> WriteAttempt:
        """Record a write about to be sent (`answer` records what came back)."""
        a = self.attempts[key] = WriteAttempt(key, intended_unix)
        self._changed.add(key)
        return a

    def take_changed(self) -> list[dict[str, Any]]:
        """The attempts made or answered since the last call, as plain JSON (a live writer's delta)."""
        changed, self._changed = self._changed, set()
        return [asdict(self.attempts[k]) for k in sorted(changed)]

    def answer(
        self,
        key: str,
        cls: int,
        status: int,
        done_unix: float,
        headers: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        *,
        acknowledged: bool | None = None,
    ) -> None:
        """Record the answer to an attempt. Acknowledged: as the journey's step says (served by the app with an
        expected status), else 201 served by a replica (the ENT's app commits first)."""
        a = self.attempts[key]
        self._changed.add(key)
        a.status = status
        a.outcome = CLASSES[cls]
        headers = headers or {}
        body = body or {}
        a.replica = body.get("replica") or headers.get("x-ent-replica")
        a.datacenter = body.get("datacenter") or headers.get("x-ent-datacenter")
        if acknowledged if acknowledged is not None else (cls == APP and status == 201):
            a.ack_unix = done_unix

    @property
    def acknowledged_keys(self) -> set[str]:
        # A snapshot: the load thread may be adding attempts while a probe reads.
        return {k for k, a in list(self.attempts.items()) if a.acknowledged}

    def check(self, present_keys: Iterable[str]) -> LedgerCheck:
        """Pure comparison of this ledger with the keys found in the database."""
        present = {k.lower() for k in present_keys}
        acked = {k.lower() for k in self.acknowledged_keys}
        attempted = {k.lower() for k in list(self.attempts)}
        result = LedgerCheck(
            attempted=len(attempted),
            acknowledged=len(acked),
            present=len(present & attempted),
            lost=sorted(acked - present),
            unacked_present=sorted((attempted - acked) & present),
            foreign_present=len(present - attempted),
        )
        log.info(
            "ledger_checked",
            attempted=result.attempted,
            acknowledged=result.acknowledged,
            lost=len(result.lost),
            unacked_present=len(result.unacked_present),
            foreign_present=result.foreign_present,
        )
        return result

    def write_jsonl(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w") as f:
            for a in self.attempts.values():
                f.write(json.dumps(asdict(a)) + "\n")
        return p

    @classmethod
    def read_jsonl(cls, path: str | Path) -> WriteLedger:
        """Load a ledger written by another generator (e.g. one running in a client container)."""
        ledger = cls()
        for line in Path(path).read_text().splitlines():
            if line.strip():
                a = WriteAttempt(**json.loads(line))
                ledger.attempts[a.key] = a
        return ledger

    def merge(self, other: WriteLedger) -> None:
        self.attempts.update(other.attempts)


def read_submission_keys(conninfo: str, *, connect_timeout_s: float = 5.0) -> set[str]:
    """Every submission key in the database (`SELECT key::text FROM submissions`)."""
    import psycopg  # local: the pure checker and the hot path must not need a database driver

    try:
        with psycopg.connect(conninfo, connect_timeout=int(connect_timeout_s)) as conn:
            rows = conn.execute("SELECT key::text FROM submissions").fetchall()
    except psycopg.Error as exc:
        raise ProbeFailed(
            f"cannot read submission keys: {exc}".strip(),
            where=_redact(conninfo),
            fix="check the database is up and reachable, and the conninfo (host, port, user, dbname)",
        ) from exc
    return {r[0] for r in rows}


def check_database(ledger: WriteLedger, conninfo: str) -> LedgerCheck:
    """The ledger against the submissions of the database at `conninfo`."""
    return ledger.check(read_submission_keys(conninfo))


def _redact(conninfo: str) -> str:
    return " ".join("password=***" if part.startswith("password=") else part for part in conninfo.split())
