"""How long the edge let slow clients hang: read from the summary the `slow-clients` fault leaves in its
client container when it ends (before that the probe fails, so a wait-for waits for it)."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from chaos.errors import ProbeFailed
from chaos.faults.slow_clients import SUMMARY_FILE
from chaos.load.remote import client_container
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.containers import read_file


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = "internet-abroad"


@register_probe("slow-clients-held")
class SlowClientsHeld(Probe[_Params]):
    """The longest a slow connection was held open (s): seconds when the edge cuts them, the whole attack
    when nothing does (a connection still open at the end counts with its age)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        container = client_container(ctx.stack, self.params.source)
        data = read_file(container.id, SUMMARY_FILE)
        if data is None:
            raise ProbeFailed("the slow clients have not ended yet (no summary in their container)",
                              where=container.name)
        summary = json.loads(data)
        if not summary.get("opened"):
            raise ProbeFailed("no slow connection could be opened", where=container.name,
                              fix="is the edge reachable from " + self.params.source + "?")
        return summary.get("max_held_s")
