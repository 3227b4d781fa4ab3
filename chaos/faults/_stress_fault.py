"""Shared shape of stress-cpu and stress-memory: load inside a target's own cgroup, so its limits apply to it.

As Pumba does: stress-ng runs in a nettools helper whose cgroup is a child of the target's (`--cgroup-parent`), so
the target's quota is shared with it, its usage is counted in the target's (the engine's stats show it), and an
out-of-memory kill picks among the target's processes and the stressor alike. stress-ng is bounded in time by
itself (`timeout_s`), and the revert removes the helper at once.

That nesting needs cgroup v1 with the cgroupfs driver (this machine): under cgroup v2 a container's cgroup holds
processes, so no child cgroup can take controllers there; refused before the run, saying so.

Effect, from the engine's stats of the target: CPU used rises by at least half of what was asked (workers x load,
capped by the target's CPU limit), or memory used by at least 80 % of `bytes_mb` (capped by its limit); after the
revert, back within that margin of what it was, and no helper left.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from docker.errors import APIError, ImageNotFound, NotFound
from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import EnvironmentProblem, FaultError, UnsupportedFault
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect
from chaos.stack import capabilities
from chaos.stack.docker_api import docker_client
from chaos.stack.interface import Stack
from chaos.stack.netns import NETTOOLS_IMAGE

SAMPLE_S = 2.0  # CPU usage is measured over this long
HELPER_LABEL = "stress"


def cpu_cores_used(container_id: str, sample_s: float = SAMPLE_S) -> float:
    """Cores the container (its cgroup and the ones below it) used over `sample_s`, from the engine's stats."""
    container = docker_client().containers.get(container_id)

    def used_ns() -> int:
        return int(container.stats(stream=False, one_shot=True)["cpu_stats"]["cpu_usage"]["total_usage"])

    before, t0 = used_ns(), time.monotonic()
    time.sleep(sample_s)
    return round((used_ns() - before) / 1e9 / (time.monotonic() - t0), 3)


def memory_used_mb(container_id: str) -> float:
    """Memory the container's cgroup holds now (page cache left out where the engine says it), in MiB."""
    stats = docker_client().containers.get(container_id).stats(stream=False, one_shot=True)["memory_stats"]
    usage = stats.get("usage", 0) - (stats.get("stats") or {}).get("total_inactive_file", 0)
    return round(usage / 2**20, 1)


def limits(container_id: str) -> tuple[float | None, float | None]:
    """The container's CPU limit (cores) and memory limit (MiB), None where it has none."""
    host = docker_client().api.inspect_container(container_id)["HostConfig"]
    cpus = (host.get("NanoCpus") or 0) / 1e9 or (
        host["CpuQuota"] / host["CpuPeriod"] if host.get("CpuQuota") and host.get("CpuPeriod") else 0)
    memory = (host.get("Memory") or 0) / 2**20
    return (cpus or None), (memory or None)


def require_nested_cgroups(fault: str) -> None:
    """`UnsupportedFault` unless the engine runs cgroup v1 with the cgroupfs driver (see the module)."""
    if capabilities.supported("cgroup-v1-nesting") is False:
        info = docker_client().info()
        raise UnsupportedFault(
            f"fault {fault!r} runs its stressor in a child of the target's cgroup, which needs cgroup v1 with the "
            f"cgroupfs driver; this engine has cgroup v{info.get('CgroupVersion')} with the "
            f"{info.get('CgroupDriver')} driver",
            fix="run it on a host with cgroup v1 (systemd.unified_cgroup_hierarchy=0), or drop the step")


class StressParams(BaseModel):
    """What every stressor takes: how long it may run at most."""

    model_config = ConfigDict(extra="forbid")
    timeout_s: int = Field(300, ge=1, le=3600, strict=True, description="the stressor stops by itself after this")


class StressFault(Fault[Any]):
    """Shared: a stress-ng helper per target in the target's cgroup; subclasses give its arguments and effect."""

    def stressor(self) -> list[str]:
        raise NotImplementedError

    def check_supported(self, stack: Stack) -> None:
        require_nested_cgroups(self.name)

    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        parents = {}
        for target in ctx.targets:
            attrs = docker_client().api.inspect_container(target.id)
            parents[target.id] = f"{attrs['HostConfig'].get('CgroupParent') or '/docker'}/{target.id}"
        return {"helpers": {t.id: f"entchaos-stress-{uuid.uuid4().hex[:12]}" for t in ctx.targets},
                "cgroup_parents": parents, "before": {t.id: self.usage(t.id) for t in ctx.targets}}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for target in ctx.targets:
            name = ctx.record.state["helpers"][target.id]
            try:
                docker_client().containers.run(
                    NETTOOLS_IMAGE, ["stress-ng", *self.stressor(), "--timeout", f"{self.params.timeout_s}s"],
                    name=name, detach=True, network_mode="none",
                    cgroup_parent=ctx.record.state["cgroup_parents"][target.id],
                    labels={"entchaos.helper": HELPER_LABEL, "entchaos.target": target.id})
            except ImageNotFound as exc:
                raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
            except APIError as exc:
                raise FaultError(f"no stressor in the cgroup of {target.service}: {exc}") from exc
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for name in (record.state.get("helpers") or {}).values():
            with contextlib.suppress(NotFound):
                docker_client().api.remove_container(name, force=True)

    def usage(self, container_id: str) -> float:
        raise NotImplementedError

    def expected(self, container_id: str) -> float:
        """How much the stressor should add, in `usage`'s unit, within the target's limit."""
        raise NotImplementedError

    def _seen(self, record: FaultRecord) -> dict[str, dict[str, Any]]:
        names = {t.id: t.service for t in record.targets}
        seen = {}
        for target_id, helper in record.state["helpers"].items():
            try:
                helper_state = docker_client().api.inspect_container(helper)["State"]["Status"]
            except NotFound:
                helper_state = "gone"
            now = self.usage(target_id)
            before = record.state["before"][target_id]
            seen[names.get(target_id, target_id[:12])] = {
                "before": before, "now": now, "added": round(now - before, 3),
                "expected_added": round(self.expected(target_id), 3), "stressor": helper_state}
        return seen

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The target's usage in the engine's stats rose by at least `share` of what the stressor should add."""
        def look() -> Effect:
            seen = self._seen(record)
            return Effect(bool(seen) and all(s["added"] >= self.share * s["expected_added"] for s in seen.values()),
                          {"unit": self.unit, "min_share_of_expected": self.share, "targets": seen})

        return poll_effect(look, deadline_s=20, interval_s=0.5, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The stressor is gone and the target's usage is back within that margin of what it was."""
        def look() -> Effect:
            seen = self._seen(record)
            return Effect(all(s["stressor"] == "gone" and s["added"] < self.share * s["expected_added"]
                              for s in seen.values()), {"unit": self.unit, "targets": seen})

        return poll_effect(look, deadline_s=20, interval_s=0.5, abort=ctx.abort)

    unit = ""
    share = 0.5
