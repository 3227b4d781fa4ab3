"""stress-memory: memory allocated and kept inside each target's own cgroup, under its memory limit (an
out-of-memory kill may then pick the target's own process: what the fault tests; see `_stress_fault`).

Effect: the target's memory in the engine's stats rises by at least 80 % of `bytes_mb` (within its limit); after the
revert, back within that margin, and no stressor left.
"""

from __future__ import annotations

from pydantic import Field

from chaos.faults._stress_fault import StressFault, StressParams, limits, memory_used_mb
from chaos.faults.base import register


class StressMemoryParams(StressParams):
    bytes_mb: int = Field(ge=1, le=65536, strict=True, description="memory the stressor allocates and keeps")


@register("stress-memory")
class StressMemory(StressFault):
    """`bytes_mb` of memory allocated and kept inside each target's cgroup, under its memory limit."""

    Params = StressMemoryParams
    needs = ("cgroup-v1-nesting",)
    unit = "MiB"
    share = 0.8

    def stressor(self) -> list[str]:
        return ["--vm", "1", "--vm-bytes", f"{self.params.bytes_mb}M", "--vm-keep", "--vm-hang", "0"]

    def usage(self, container_id: str) -> float:
        return memory_used_mb(container_id)

    def expected(self, container_id: str) -> float:
        _, memory = limits(container_id)
        return min(self.params.bytes_mb, memory) if memory else self.params.bytes_mb
