"""http-fault: HTTP-level faults on one port of the targets, through the fault proxy (no netem needed).

For new connections from elsewhere to `port`: `abort_percent` of them reset at once; of the requests whose method
and path match (`method`, `path_prefix`), `percent` answered `status` by the proxy (with the header
`X-Entchaos-Fault: http-fault`, never reaching the service) or held `delay_ms` before going on.

Its effect is measured from a peer, through the port, on fresh connections: the share of injected answers, of
resets, or of requests slower than 0.8x `delay_ms`, each within a tolerance of what was asked (4 standard
deviations of the sample, at least 5 points). After the revert: no injected answer, no reset, none that slow.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.faults._proxy_fault import ProxyFault
from chaos.faults.base import Effect, FaultContext, FaultRecord, register
from chaos.stack.netns import NetnsAgent

REQUESTS = 200  # per measurement, for shares of answers and resets
DELAYED_REQUESTS = 20  # when each may be held back: the measurement's time stays bounded
TIMEOUT_S = 10.0
MIN_TOLERANCE = 0.05


class HttpFaultParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(ge=1, le=65535, strict=True, description="the target's HTTP port")
    status: int | None = Field(None, ge=100, le=599, strict=True, description="answer this status instead")
    delay_ms: int | None = Field(None, ge=1, le=60_000, strict=True, description="hold the request this long")
    percent: float = Field(100, gt=0, le=100, strict=True, allow_inf_nan=False,
                           description="share of the matching requests that get `status` or `delay_ms`")
    abort_percent: float = Field(0, ge=0, le=100, strict=True, allow_inf_nan=False,
                                 description="share of new connections reset at once")
    path_prefix: str = Field("/", pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", max_length=256,
                             description="only requests whose path starts so")
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] | None = Field(
        None, description="only requests of this method")

    @model_validator(mode="after")
    def _one_fault(self) -> HttpFaultParams:
        if self.status is not None and self.delay_ms is not None:
            raise ValueError("give `status` or `delay_ms`, not both: a request is answered or held, not both")
        if self.status is None and self.delay_ms is None and not self.abort_percent:
            raise ValueError("nothing to inject: give `status`, `delay_ms` or `abort_percent`")
        return self


def tolerance(share: float, n: int) -> float:
    """4 standard deviations of a share measured over `n` tries, at least 5 points."""
    return max(MIN_TOLERANCE, 4 * math.sqrt(share * (1 - share) / n))


@register("http-fault")
class HttpFault(ProxyFault[HttpFaultParams]):
    """On `port`: connections reset, matching requests answered `status` or held `delay_ms`, by a proxy."""

    needs = ("iptables-redirect",)

    def rules(self) -> dict[str, Any]:
        p = self.params
        http = {"status": p.status, "delay_ms": p.delay_ms, "percent": p.percent, "path_prefix": p.path_prefix,
                "method": p.method}
        return {"abort_percent": p.abort_percent,
                **({"http": http} if p.status is not None or p.delay_ms is not None else {})}

    def port(self) -> int:
        return self.params.port

    def probe(self, agent: NetnsAgent, address: str, record: FaultRecord) -> dict[str, Any]:
        p = self.params
        n = DELAYED_REQUESTS if p.delay_ms else REQUESTS
        return agent.run("http", address, p.port, n, p.method or "GET", p.path_prefix, TIMEOUT_S)

    def _shares(self, now: dict[str, Any]) -> dict[str, Any]:
        """What was asked and what the probe measured, as shares of its requests (or connections)."""
        p = self.params
        tried = len(now["times_ms"]) + now["reset"] + now["failed"]
        answered = len(now["times_ms"])
        shares: dict[str, Any] = {"tried": tried}
        if p.abort_percent:
            shares["reset"] = {"asked": p.abort_percent / 100, "measured": round(now["reset"] / tried, 4)}
        kept = 1 - p.abort_percent / 100  # the requests of the connections not reset
        if p.status is not None:
            shares["injected"] = {"asked": p.percent / 100, "measured": round(now["injected"] / max(answered, 1), 4)}
        if p.delay_ms is not None:
            slow = sum(t >= 0.8 * p.delay_ms for t in now["times_ms"])
            shares["slow"] = {"asked": p.percent / 100, "measured": round(slow / max(answered, 1), 4)}
        for key, share in shares.items():
            if key != "tried":
                n = tried if key == "reset" else max(round(tried * kept), 1)
                share["tolerance"] = round(tolerance(share["asked"], n), 4)
        return shares

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Each measured share (resets, injected answers, slow answers) within tolerance of what was asked."""
        seen = self.measure(record)
        ok = bool(seen)
        for s in seen.values():
            s["shares"] = self._shares(s["now"])
            ok &= all(abs(v["measured"] - v["asked"]) <= v["tolerance"]
                      for k, v in s["shares"].items() if k != "tried")
        return Effect(ok, {"targets": seen})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """No injected answer, no reset, none held back, and no REDIRECT left."""
        seen = self.measure(record)
        ok = bool(seen)
        for s in seen.values():
            now = s["now"]
            slow = sum(t >= 0.8 * self.params.delay_ms for t in now["times_ms"]) if self.params.delay_ms else 0
            s["left"] = {"injected": now["injected"], "reset": now["reset"], "failed": now["failed"], "slow": slow}
            ok &= not any(s["left"].values()) and not s["redirected_ports"]
        return Effect(ok, {"targets": seen})
