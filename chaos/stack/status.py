"""The stack at a glance: each container by datacenter and role, and the edge's view of it."""

from __future__ import annotations

from dataclasses import dataclass

from chaos.errors import ProbeFailed
from chaos.stack.compose import ComposeStack
from chaos.stack.haproxy_runtime import ServerState
from chaos.stack.health import edge_view
from chaos.stack.interface import Target


@dataclass
class StackStatus:
    """What `entchaos stack status` shows: each container, and the edge's view of each server."""

    project: str
    targets: list[Target]
    edge: list[ServerState]
    edge_error: str | None = None
    edge_url: str | None = None

    def rows(self) -> list[tuple[str, ...]]:
        """One row per container (and per server the edge knows without a container)."""
        by_server = {s.server: s for s in self.edge}
        rows: list[tuple[str, ...]] = []
        for t in sorted(self.targets, key=lambda t: (t.datacenter, t.role, t.service)):
            seen = by_server.get(t.service)
            edge = f"{seen.status} ({seen.last_change_s}s)" if seen else "-"
            rows.append(
                (t.datacenter, t.role, t.service, t.status, t.health or "-", "yes" if t.chaos_allowed else "no", edge)
            )
        # Servers the edge knows that have no container (a burned datacenter).
        known = {t.service for t in self.targets}
        for s in self.edge:
            if s.server not in known:
                rows.append(("?", "app", s.server, "absent", "-", "-", f"{s.status} ({s.last_change_s}s)"))
        return rows

    def render(self) -> str:
        """The table as text, with the project, the edge URL and any problem."""
        header = ("DATACENTER", "ROLE", "SERVICE", "STATUS", "HEALTH", "CHAOS", "EDGE VIEW")
        rows = [header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.insert(0, f"project {self.project}" + (f"  edge {self.edge_url}" if self.edge_url else ""))
        if self.edge_error:
            lines.append(f"edge runtime API: {self.edge_error}")
        if not self.targets:
            lines.append("no containers: start the stack with `entchaos stack up`")
        return "\n".join(lines)


def stack_status(stack: ComposeStack) -> StackStatus:
    """The stack's status now (the edge's view only when an edge runs)."""
    targets = stack.targets()
    status = StackStatus(stack.project, targets, [])
    if any(t.role == "edge" and t.status == "running" for t in targets):
        try:
            status.edge = edge_view(stack)
            status.edge_url = stack.edge_url()
        except ProbeFailed as exc:
            status.edge_error = exc.what
    return status
