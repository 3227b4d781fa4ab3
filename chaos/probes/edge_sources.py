"""The edge's view of its sources: the highest per-source request rate in HAProxy's stick table.

Reads `show table <frontend>` through the runtime API. Only the `protected` profile tracks sources: where
there is no table, the edge cannot see a flood coming and the probe says so (ProbeFailed).
"""

from __future__ import annotations

import ipaddress
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chaos.errors import ProbeFailed
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.probes.edge import HaproxyName
from chaos.stack.haproxy_runtime import EdgeAPI, plain_name

ROW = re.compile(r"key=(?P<key>\S+).*?http_req_rate\(\d+\)=(?P<rate>\d+)")


def source_rates(text: str) -> dict[str, int]:
    """{source address: requests in the table's rate period} from `show table` output."""
    return {m["key"]: int(m["rate"]) for m in map(ROW.search, text.splitlines()) if m}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: HaproxyName = "ent"
    network: str = Field(default="0.0.0.0/0", max_length=43, description="only sources in this range (CIDR)")

    @field_validator("network")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value, strict=True))
        except ValueError as exc:
            raise ValueError(f"a network in CIDR notation (10.99.0.0/16): {exc}") from None


@register_probe("edge-source-rate")
class EdgeSourceRate(Probe[_Params]):
    """Highest request rate (per second) of one source in `network`, as the edge's stick table counts it."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        table = plain_name(self.params.table, "table")
        text = EdgeAPI(*ctx.stack.edge_api()).command(f"show table {table}")
        if not text.lstrip().startswith("# table"):
            raise ProbeFailed(f"the edge tracks no sources (show table {self.params.table}: {text.strip()[:80]!r})",
                              where="edge runtime API", fix="per-source tracking is in the `protected` profile")
        network = ipaddress.ip_network(self.params.network)
        rates = [r for key, r in source_rates(text).items() if ipaddress.ip_address(key) in network]
        return max(rates, default=0)
