"""The stack's database nodes as the toolkit reads them: which one is the primary, how it replicates, what it
holds. Reached from the host on each node's published port; queries take parameters, never formatted values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from chaos.errors import ProbeFailed
from chaos.stack.interface import Stack

DB_USER = "ent"
DB_PASSWORD = "ent"
DB_NAME = "ent"


@dataclass(frozen=True)
class NodeState:
    """One database node as it answered (or did not): its role, its replication settings and lag."""

    service: str
    reachable: bool
    in_recovery: bool | None = None
    sync_standby_names: str | None = None
    standbys: tuple[tuple[str, str], ...] = ()  # (application_name, sync_state) seen by a primary
    replay_lag_s: float | None = None  # on a standby: now() - last replayed transaction

    @property
    def is_primary(self) -> bool:
        return self.reachable and self.in_recovery is False


def connect(stack: Stack, service: str, timeout_s: float = 3.0) -> psycopg.Connection[Any]:
    """An autocommit connection to `service`'s published port; ProbeFailed when it does not answer."""
    host, port = stack.published(service, 5432)
    try:
        return psycopg.connect(
            host=host, port=port, dbname=DB_NAME, user=DB_USER, password=DB_PASSWORD,
            connect_timeout=max(1, int(timeout_s)), autocommit=True,
        )
    except psycopg.Error as exc:
        raise ProbeFailed(f"cannot connect to {service} ({host}:{port}): {exc}".strip()) from exc


def query(stack: Stack, service: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row `sql` (with `params`) returns on `service`."""
    with connect(stack, service) as conn:
        return conn.execute(sql, params).fetchall()


def _value(conn: psycopg.Connection[Any], sql: str) -> Any:
    """The one value of a one-row query."""
    row = conn.execute(sql).fetchone()
    if row is None:
        raise ProbeFailed(f"`{sql}` returned no row")
    return row[0]


def node_state(stack: Stack, service: str) -> NodeState:
    """How `service` is now; an unreachable node is a state (`reachable=False`), not an error."""
    try:
        conn = connect(stack, service)
    except ProbeFailed:
        return NodeState(service, reachable=False)
    with conn:
        in_recovery = _value(conn, "select pg_is_in_recovery()")
        names = _value(conn, "show synchronous_standby_names")
        standbys: tuple[tuple[str, str], ...] = ()
        lag = None
        if in_recovery:
            lag = float(_value(conn, "select coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)"))
        else:
            standbys = tuple(
                (r[0], r[1]) for r in conn.execute("select application_name, sync_state from pg_stat_replication")
            )
    return NodeState(service, True, in_recovery, names, standbys, lag)


def db_services(stack: Stack) -> list[str]:
    """The running database services, sorted (on an inventory, every one: a host's state is known only by asking,
    and an unreachable node is a state of `node_state`, not an error)."""
    return sorted(t.service for t in stack.targets() if t.role == "db" and t.status in ("running", "unknown"))


def current_primary(stack: Stack) -> str:
    """The one database node that is read-write. Raises when there is none (or more than one)."""
    primaries = [s for s in db_services(stack) if node_state(stack, s).is_primary]
    if len(primaries) != 1:
        raise ProbeFailed(
            f"expected exactly one read-write database, found {primaries or 'none'}",
            fix="fail over (playbook failover-database) or rebuild the datacenter",
        )
    return primaries[0]


def submission_keys(stack: Stack, service: str) -> set[str]:
    """Every homework submission key stored on `service` (the ledger's check of acknowledged writes)."""
    return {row[0] for row in query(stack, service, "select key::text from submissions")}
