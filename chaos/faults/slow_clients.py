"""slow-clients: connections from a client network that send their headers a line at a time (slowloris).

Like `flood`, the targets are the victims (the app replicas behind the edge); the attack runs inside the
client container of `source` (`python -m chaos.load.slow_clients`), bounded by `for_s`, and writes a summary
when it ends (`chaos.probes.slow_clients` reads it). Revert stops it early by its pid.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.faults.base import Fault, FaultContext, FaultRecord, register
from chaos.faults.client_process import start_in, stop_in
from chaos.load.remote import client_container
from chaos.logging import get_logger

log = get_logger(__name__)

PID_FILE = "/tmp/entchaos-slow-clients.pid"
SUMMARY_FILE = "/tmp/entchaos-slow-clients.json"


class SlowClientsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    connections: int = Field(default=200, ge=1, le=5000)
    for_s: float = Field(default=40.0, gt=0, le=900, description="they stop by themselves after this")
    interval_s: float = Field(default=2.0, gt=0, description="seconds between header lines")
    source: str = "internet-abroad"


@register("slow-clients")
class SlowClients(Fault):
    Params = SlowClientsParams

    def prepare(self, ctx: FaultContext) -> dict:
        container = client_container(ctx.stack, self.params.source)  # type: ignore[arg-type]
        return {"container": container.id, "source": self.params.source}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        p = self.params
        argv = ["python", "-m", "chaos.load.slow_clients", "--host", "edge", "--port", "80",
                "--connections", str(p.connections), "--for", f"{p.for_s:g}", "--interval", f"{p.interval_s:g}",
                "--json", SUMMARY_FILE]
        start_in(ctx.record.state["container"], argv, pid_file=PID_FILE, log_file="/tmp/entchaos-slow-clients.log",
                 output_file=SUMMARY_FILE)
        log.info("slow_clients_started", source=p.source, connections=p.connections, for_s=p.for_s)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        stop_in(record.state["container"], pid_file=PID_FILE)
        log.info("slow_clients_stopped", source=record.state.get("source"))
