"""What the attacker got: the flood generator's own per-second series, read from its client container.

The `flood` fault writes it when the flood ends; before that the probe fails (so a wait-for waits for it).
"Refused at the edge" is what the edge's protections answered (class `shed`: the geo filter's 403 and the rate
limit's 429, both marked X-ENT-Shed, the waiting room's 503 + Retry-After) or a refused connection. An `error` (a
bare 503 from an edge whose replicas are drowning) is not a refusal: counting it as one gave an unprotected edge
0.48-0.97 "refused" depending on how badly the stack collapsed.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import ProbeFailed
from chaos.faults.flood import SERIES_FILE
from chaos.load.interface import ClientSource
from chaos.load.remote import client_container
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.containers import read_file

REFUSED_AT_EDGE = ("shed", "refused")


def read_series(container) -> list[dict]:
    """The flood generator's per-second rows from its container; `ProbeFailed` until it has ended."""
    data = read_file(container.id, SERIES_FILE)
    if data is None:
        raise ProbeFailed("the flood has not ended yet (no series in its container)", where=container.name)
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: ClientSource = "internet-abroad"
    tail_s: int = Field(default=15, gt=0, le=3600, strict=True,
                        description="the flood's last seconds (after the filter went on)")


@register_probe("flood-refused-ratio")
class FloodRefusedRatio(Probe[_Params]):
    """Share of the flood's requests, over its last `tail_s` seconds, refused at the edge."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        rows = [r for r in read_series(client_container(ctx.stack, self.params.source))
                if r.get("type") == "second"]
        tail = rows[-self.params.tail_s:]
        sent = sum(sum(r["by_class"].values()) for r in tail)
        if not sent:
            raise ProbeFailed("the flood's series has no request", where=self.params.source)
        refused = sum(r["by_class"].get(c, 0) for r in tail for c in REFUSED_AT_EDGE)
        return round(refused / sent, 4)
