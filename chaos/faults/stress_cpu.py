"""stress-cpu: busy CPU workers inside each target's own cgroup, under its CPU limit (see `_stress_fault`).

Effect: the target's CPU use in the engine's stats rises by at least half of workers x load (within its limit);
after the revert, back within that margin, and no stressor left.
"""

from __future__ import annotations

from pydantic import Field

from chaos.faults._stress_fault import StressFault, StressParams, cpu_cores_used, limits
from chaos.faults.base import register


class StressCpuParams(StressParams):
    workers: int = Field(1, ge=1, le=64, strict=True, description="stress-ng CPU workers")
    load_percent: int = Field(100, ge=1, le=100, strict=True, description="how busy each worker keeps its CPU")


@register("stress-cpu")
class StressCpu(StressFault):
    """`workers` busy CPU workers inside each target's cgroup, under its CPU limit."""

    Params = StressCpuParams
    needs = ("cgroup-v1-nesting",)
    unit = "cores"
    share = 0.5

    def stressor(self) -> list[str]:
        return ["--cpu", str(self.params.workers), "--cpu-load", str(self.params.load_percent)]

    def usage(self, container_id: str) -> float:
        return cpu_cores_used(container_id)

    def expected(self, container_id: str) -> float:
        cpus, _ = limits(container_id)
        wanted = self.params.workers * self.params.load_percent / 100
        return min(wanted, cpus) if cpus else wanted
