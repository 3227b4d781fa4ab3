"""Probes: measurements of the stack (HTTP, SQL, the edge's view, load statistics)."""
