"""SQL probes: a query against the primary or the standby, replication state and lag."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from chaos.errors import ProbeFailed
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.compose import ComposeStack

DB_USER = "ent"
DB_PASSWORD = "ent"
DB_NAME = "ent"


@dataclass(frozen=True)
class NodeState:
    service: str
    reachable: bool
    in_recovery: bool | None = None
    sync_standby_names: str | None = None
    standbys: tuple[tuple[str, str], ...] = ()  # (application_name, sync_state) seen by a primary
    replay_lag_s: float | None = None  # on a standby: now() - last replayed transaction

    @property
    def is_primary(self) -> bool:
        return self.reachable and self.in_recovery is False


def connect(stack: ComposeStack, service: str, timeout_s: float = 3.0) -> psycopg.Connection:
    host, port = stack.published(service, 5432)
    try:
        return psycopg.connect(
            host=host, port=port, dbname=DB_NAME, user=DB_USER, password=DB_PASSWORD,
            connect_timeout=max(1, int(timeout_s)), autocommit=True,
        )
    except psycopg.Error as exc:
        raise ProbeFailed(f"cannot connect to {service} ({host}:{port}): {exc}".strip()) from exc


def query(stack: ComposeStack, service: str, sql: str, params: tuple = ()) -> list[tuple]:
    with connect(stack, service) as conn:
        return conn.execute(sql, params).fetchall()


def node_state(stack: ComposeStack, service: str) -> NodeState:
    try:
        conn = connect(stack, service)
    except ProbeFailed:
        return NodeState(service, reachable=False)
    with conn:
        in_recovery = conn.execute("select pg_is_in_recovery()").fetchone()[0]
        names = conn.execute("show synchronous_standby_names").fetchone()[0]
        standbys: tuple[tuple[str, str], ...] = ()
        lag = None
        if in_recovery:
            row = conn.execute(
                "select coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)"
            ).fetchone()
            lag = float(row[0])
        else:
            standbys = tuple(
                (r[0], r[1]) for r in conn.execute("select application_name, sync_state from pg_stat_replication")
            )
    return NodeState(service, True, in_recovery, names, standbys, lag)


def db_services(stack: ComposeStack) -> list[str]:
    return sorted(t.service for t in stack.targets() if t.role == "db" and t.status == "running")


def current_primary(stack: ComposeStack) -> str:
    """The one database node that is read-write. Raises when there is none (or more than one)."""
    primaries = [s for s in db_services(stack) if node_state(stack, s).is_primary]
    if len(primaries) != 1:
        raise ProbeFailed(
            f"expected exactly one read-write database, found {primaries or 'none'}",
            fix="fail over (playbook failover-database) or rebuild the datacenter",
        )
    return primaries[0]


def submission_keys(stack: ComposeStack, service: str) -> set[str]:
    return {row[0] for row in query(stack, service, "select key::text from submissions")}

# ---- runbook probes -------------------------------------------------------------------------------------------



@register_probe("replication")
class Replication(Probe):
    """How the primary replicates: `sync`, `async`, or `none` (no standby streaming)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        state = node_state(ctx.stack, current_primary(ctx.stack))  # type: ignore[arg-type]
        modes = {mode for _, mode in state.standbys}
        if "sync" in modes or "quorum" in modes:
            return "sync"
        return "async" if modes else "none"


@register_probe("replication-lag-bytes")
class ReplicationLagBytes(Probe):
    """How far the most lagging standby is behind the primary's WAL (bytes); 0 when none is connected."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        rows = query(ctx.stack, current_primary(ctx.stack),  # type: ignore[arg-type]
                     "select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)), 0)::bigint"
                     " from pg_stat_replication")
        return int(rows[0][0])


@register_probe("primaries")
class Primaries(Probe):
    """How many database nodes accept writes right now (split brain: more than one)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return sum(1 for s in db_services(ctx.stack) if node_state(ctx.stack, s).is_primary)  # type: ignore[arg-type]
