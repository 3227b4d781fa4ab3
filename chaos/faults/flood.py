"""flood: an HTTP flood from a client network (by default `internet-abroad`) against the edge.

The targets are the victims (the app replicas, chaos-allowed); the attack itself is the toolkit's own
open-model generator (`python -m chaos.load --mix flood`) started inside the client container of `source`,
bounded by `for_s` so it always stops by itself. It writes its per-second series (JSONL) inside the
container when it ends (`chaos.probes.flood_report` reads it). Revert stops it early by its pid.

Its effect check reads the generator's own live statistics (rewritten every second): it is running and
has requests done (answered, refused or timed out), and it holds connections.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from chaos.faults.base import FaultRecord, register
from chaos.faults.client_process import ClientParams, ClientProcessFault
from chaos.limits import MAX_CONNECTIONS, MAX_RATE
from chaos.load.interface import ClientSource
from chaos.load.live import LiveReader
from chaos.stack.containers import read_file
from chaos.stack.endpoint import EDGE_INSIDE

PID_FILE = "/tmp/entchaos-flood.pid"
SERIES_FILE = "/tmp/entchaos-flood.jsonl"
LIVE_FILE = "/tmp/entchaos-flood-live.jsonl"


class FloodParams(ClientParams):
    model_config = ConfigDict(extra="forbid")
    rate: int = Field(gt=0, le=int(MAX_RATE), strict=True,
                      description="requests per second: at most what one generator sends (50 000/s)")
    for_s: float = Field(default=60.0, gt=0, le=900, strict=True, allow_inf_nan=False,
                         description="the flood stops by itself after this")
    path: str = Field(default="/", pattern=r"^/[A-Za-z0-9._~/?&=%-]*$", max_length=256)
    source: ClientSource = "internet-abroad"
    connections: int = Field(default=256, ge=1, le=MAX_CONNECTIONS, strict=True)


@register("flood")
class Flood(ClientProcessFault[FloodParams]):
    """`rate` requests a second from the client network `source` for `for_s` seconds."""

    PID_FILE, LOG_FILE, OUTPUT_FILE = PID_FILE, "/tmp/entchaos-flood.log", SERIES_FILE
    STALE_FILES = (LIVE_FILE,)

    def argv(self) -> list[str]:
        p = self.params
        return ["python", "-m", "chaos.load", "--target", EDGE_INSIDE, "--profile", f"constant:{p.rate}",
                "--duration", f"{p.for_s:g}", "--mix", "flood", "--path", p.path, "--connections", str(p.connections),
                "--quiet", "--json", SERIES_FILE, "--live", LIVE_FILE]

    def extra_evidence(self, record: FaultRecord) -> dict[str, Any]:
        """The requests done so far, from the generator's live snapshot (absent before its first second)."""
        data = read_file(record.state["container"], LIVE_FILE)
        live = LiveReader()
        if data:
            live.feed(data)
        if live.stats is None:
            return {"requests_done": 0}
        return {"requests_done": sum(live.stats.totals), "rate": self.params.rate}

    def took_effect(self, seen: dict[str, Any]) -> bool:
        return seen.get("requests_done", 0) > 0
