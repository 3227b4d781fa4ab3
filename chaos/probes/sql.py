"""SQL probes: a query against the primary or the standby, replication state and lag."""

from __future__ import annotations

from chaos.params import NoParams
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.database import current_primary, db_services, node_state, query  # moved down: load uses them

# ---- runbook probes -------------------------------------------------------------------------------------------



@register_probe("replication")
class Replication(Probe[NoParams]):
    """How the primary replicates: `sync`, `async`, or `none` (no standby streaming)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        state = node_state(ctx.stack, current_primary(ctx.stack))
        modes = {mode for _, mode in state.standbys}
        if "sync" in modes or "quorum" in modes:
            return "sync"
        return "async" if modes else "none"


@register_probe("replication-lag-bytes")
class ReplicationLagBytes(Probe[NoParams]):
    """How far the most lagging standby is behind the primary's WAL (bytes); 0 when none is connected."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        rows = query(ctx.stack, current_primary(ctx.stack),
                     "select coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)), 0)::bigint"
                     " from pg_stat_replication")
        return int(rows[0][0])


@register_probe("primaries")
class Primaries(Probe[NoParams]):
    """How many database nodes accept writes right now (split brain: more than one)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        return sum(1 for s in db_services(ctx.stack) if node_state(ctx.stack, s).is_primary)
