"""slow-clients: connections from a client network that send their headers a line at a time (slowloris).

Like `flood`, the targets are the victims (the app replicas behind the edge); the attack runs inside the
client container of `source` (`python -m chaos.load.slowloris`), bounded by `for_s`, and writes a summary
when it ends (`chaos.probes.slow_clients_report` reads it). Revert stops it early by its pid.

Its effect check counts the connections the generator holds (its established TCP sockets).
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from chaos.faults.base import register
from chaos.faults.client_process import ClientParams, ClientProcessFault
from chaos.load.interface import ClientSource

PID_FILE = "/tmp/entchaos-slow-clients.pid"
SUMMARY_FILE = "/tmp/entchaos-slow-clients.json"


class SlowClientsParams(ClientParams):
    model_config = ConfigDict(extra="forbid")
    connections: int = Field(default=200, ge=1, le=5000, strict=True)
    for_s: float = Field(default=40.0, gt=0, le=900, strict=True, allow_inf_nan=False,
                         description="they stop by themselves after this")
    interval_s: float = Field(default=2.0, ge=0.01, le=300, strict=True, allow_inf_nan=False,
                              description="seconds between header lines")
    source: ClientSource = "internet-abroad"


@register("slow-clients")
class SlowClients(ClientProcessFault[SlowClientsParams]):
    """`connections` slowloris connections from the client network `source` for `for_s` seconds."""

    PID_FILE, LOG_FILE, OUTPUT_FILE = PID_FILE, "/tmp/entchaos-slow-clients.log", SUMMARY_FILE

    def argv(self) -> list[str]:
        p = self.params
        return ["python", "-m", "chaos.load.slowloris", "--host", "edge", "--port", "80",
                "--connections", str(p.connections), "--for", f"{p.for_s:g}", "--interval", f"{p.interval_s:g}",
                "--json", SUMMARY_FILE]

    def took_effect(self, seen: dict[str, Any]) -> bool:
        return seen.get("established", 0) > 0
