"""CPU of a role's containers, from the engine's own accounting (Docker's stats API, cgroup v1 or v2).

Saturation is relative to what a container may use: its CPU limit (`cpus`) when it has one, else one core,
since an ENT app replica is a single event loop and cannot use more.
"""

from __future__ import annotations

import time
from typing import Literal

from docker.models.containers import Container
from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import ProbeFailed
from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.docker_api import docker_client


def _usage_ns(container: Container) -> int:
    """CPU time the container has used so far (ns)."""
    return int(container.stats(stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"])


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["edge", "app", "db", "fallback", "client"] = "app"
    sample_s: float = Field(default=3.0, gt=0, le=60, strict=True, allow_inf_nan=False)


@register_probe("cpu-utilisation")
class CpuUtilisation(Probe[_Params]):
    """The busiest container of `role` over `sample_s`: its CPU time over the time it may use (1.0 = saturated)."""

    backends = ("compose",)  # the engine's container statistics

    def measure(self, ctx: ProbeContext) -> Measurement:
        p = self.params
        ids = [t.id for t in ctx.stack.targets() if t.role == p.role and t.status == "running"]
        if not ids:
            raise ProbeFailed(f"no running container with role {p.role!r}", where="cpu-utilisation")
        client = docker_client()
        containers = [client.containers.get(i) for i in ids]
        before, t0 = [_usage_ns(c) for c in containers], time.monotonic()
        if ctx.abort.wait(p.sample_s):
            raise ProbeFailed("aborted while sampling CPU", where="cpu-utilisation")
        after, elapsed = [_usage_ns(c) for c in containers], time.monotonic() - t0
        shares = []
        for c, a, b in zip(containers, before, after, strict=True):
            allowed = (c.attrs["HostConfig"].get("NanoCpus") or 1_000_000_000) / 1e9
            shares.append((b - a) / 1e9 / elapsed / allowed)
        return round(max(shares), 3)
