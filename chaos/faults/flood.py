"""flood: an HTTP flood from a client network (by default `internet-abroad`) against the edge.

The targets are the victims (the app replicas, chaos-allowed); the attack itself is the toolkit's own
open-model generator (`python -m chaos.load --mix flood`) started inside the client container of `source`,
bounded by `for_s` so it always stops by itself. It writes its per-second series (JSONL) inside the
container when it ends (`chaos.probes.flood_report` reads it). Revert stops it early by its pid.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults.base import register
from chaos.faults.client_process import ClientProcessFault
from chaos.load.remote import EDGE_INSIDE

PID_FILE = "/tmp/entchaos-flood.pid"
SERIES_FILE = "/tmp/entchaos-flood.jsonl"


class FloodParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: int = Field(gt=0, description="requests per second")
    for_s: float = Field(default=60.0, gt=0, le=900, description="the flood stops by itself after this")
    path: str = "/"
    source: str = "internet-abroad"
    connections: int = Field(default=256, ge=1)


@register("flood")
class Flood(ClientProcessFault):
    Params = FloodParams
    PID_FILE, LOG_FILE, OUTPUT_FILE = PID_FILE, "/tmp/entchaos-flood.log", SERIES_FILE

    def argv(self) -> list[str]:
        p = self.params
        return ["python", "-m", "chaos.load", "--target", EDGE_INSIDE, "--profile", f"constant:{p.rate}",
                "--duration", f"{p.for_s:g}", "--mix", "flood", "--path", p.path, "--connections", str(p.connections),
                "--quiet", "--json", SERIES_FILE]
