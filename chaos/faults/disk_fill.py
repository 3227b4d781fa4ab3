"""disk-fill: the filesystem behind a path of the targets (a volume, or the container's writable layer) filled by a
file of `size_mb`, or up to `percent` used; the file removed on revert.

A nettools helper shares the target's PID namespace and reaches its files as the target sees them, through
`/proc/1/root` (volumes at their mount points, the writable layer elsewhere), so no tool is needed in the image.
The file is `<path>/.entchaos-disk-fill`, allocated at once (fallocate; written out where the filesystem cannot).

A container's writable layer and its volumes usually live on the host's own disk: the fill never leaves less than
`keep_free_mb` free there (default 1 GiB), and says so before anything is written.

Effect: the free space seen from inside drops by at least 90 % of the bytes written; after the revert, the file is
gone and the free space grew back by as much.
"""

from __future__ import annotations

from typing import Any

from docker.errors import APIError, ContainerError, ImageNotFound
from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import EnvironmentProblem, FaultError
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, register
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import NETTOOLS_IMAGE, helper_name, remove_unstarted

# $1 path inside the target: "<free bytes> <total bytes> <file bytes or ->" of its filesystem.
SPACE = """d=/proc/1/root$1; s=$(stat -f -c "%a %f %S %b" "$d") || exit 3; set -- $s
f=$(stat -c %s "$d/.entchaos-disk-fill" 2>/dev/null || echo -); echo "$(($1 * $3)) $(($4 * $3)) $f"
"""
# $1 path, $2 bytes: the file allocated (or written where fallocate is not supported).
FILL = """d=/proc/1/root$1/.entchaos-disk-fill
fallocate -l "$2" "$d" 2>/dev/null || head -c "$2" /dev/zero > "$d"; sync"""
FREE = 'rm -f "/proc/1/root$1/.entchaos-disk-fill"; sync'


def in_target_files(container_id: str, script: str, *args: str) -> str:
    """`script` with `args` in a helper that sees the target's files under /proc/1/root."""
    name = helper_name()
    try:
        out = docker_client().containers.run(NETTOOLS_IMAGE, ["sh", "-c", script, "sh", *args], name=name,
                                             pid_mode=f"container:{container_id}", cap_add=["SYS_PTRACE"],
                                             network_mode="none", remove=True, labels={"entchaos.helper": "files"})
    except ImageNotFound as exc:
        raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
    except ContainerError as exc:
        remove_unstarted(name)
        stderr = (exc.stderr or b"").decode(errors="replace").strip()
        raise FaultError(f"in the files of {container_id[:12]}: {stderr or exc}",
                         fix="check the path exists in the target (`docker exec <container> ls PATH`)") from exc
    except APIError as exc:
        remove_unstarted(name)
        raise FaultError(f"in the files of {container_id[:12]}: {exc}") from exc
    return out.decode(errors="replace")


def space(container_id: str, path: str) -> dict[str, Any]:
    """Free and total bytes of the filesystem behind `path` in the target, and the fill file's size (or None)."""
    free, total, size = in_target_files(container_id, SPACE, path).split()
    return {"free_bytes": int(free), "total_bytes": int(total), "file_bytes": None if size == "-" else int(size),
            "used_percent": round(100 * (1 - int(free) / int(total)), 2)}


class DiskFillParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = Field("/tmp", pattern=r"^/[A-Za-z0-9_.@+/-]*$", max_length=256,
                      description="a directory in the target: a volume's mount point, or any other for its writable "
                      "layer")
    size_mb: int | None = Field(None, ge=1, le=1_048_576, strict=True, description="write this much")
    percent: float | None = Field(None, gt=0, le=100, strict=True, allow_inf_nan=False,
                                  description="or fill the filesystem up to this share used")
    keep_free_mb: int = Field(1024, ge=0, le=1_048_576, strict=True,
                              description="never leave less than this free (the host's disk, often)")

    @model_validator(mode="after")
    def _one_amount(self) -> DiskFillParams:
        if (self.size_mb is None) == (self.percent is None):
            raise ValueError("give `size_mb` or `percent` (one of them)")
        if ".." in self.path.split("/"):
            raise ValueError("path: no `..`")
        return self


@register("disk-fill")
class DiskFill(Fault[DiskFillParams]):
    """The filesystem behind `path` in the targets filled by `size_mb` (or to `percent` used); freed on revert."""

    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        p, plan = self.params, {}
        for target in ctx.targets:
            before = space(target.id, p.path)
            if p.size_mb is not None:
                wanted = p.size_mb * 2**20
            else:
                wanted = int(before["total_bytes"] * (p.percent or 0) / 100) - (before["total_bytes"]
                                                                                  - before["free_bytes"])
            left = before["free_bytes"] - wanted
            if wanted <= 0:
                raise FaultError(f"{target.service}:{p.path} is already {before['used_percent']} % used, above "
                                 f"{p.percent} %: nothing to fill", fix="ask for a higher percent, or size_mb")
            if left < p.keep_free_mb * 2**20:
                raise FaultError(f"filling {wanted >> 20} MiB at {target.service}:{p.path} would leave "
                                 f"{max(left, 0) >> 20} MiB free, under keep_free_mb {p.keep_free_mb}",
                                 fix="ask for less, or lower keep_free_mb if that disk may really be filled")
            plan[target.id] = {"bytes": wanted, "before": before}
        return {"path": p.path, "fill": plan}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for target in ctx.targets:
            fill = ctx.record.state["fill"][target.id]
            in_target_files(target.id, FILL, ctx.record.state["path"], str(fill["bytes"]))
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        from chaos.stack import containers

        for target in record.targets:
            if containers.is_running(target.id) and record.state.get("path"):
                in_target_files(target.id, FREE, record.state["path"])

    def _seen(self, record: FaultRecord) -> dict[str, dict[str, Any]]:
        seen = {}
        for target in record.targets:
            fill = record.state["fill"][target.id]
            now = space(target.id, record.state["path"])
            seen[target.service] = {"asked_bytes": fill["bytes"], "before": fill["before"], "now": now,
                                    "free_dropped_bytes": fill["before"]["free_bytes"] - now["free_bytes"]}
        return seen

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The free space dropped by at least 90 % of the bytes asked for."""
        seen = self._seen(record)
        for target in record.targets:  # kept for the revert's check, which compares with this moment
            if seen[target.service]["now"]["file_bytes"] is not None:
                record.state["fill"][target.id]["during"] = seen[target.service]["now"]
        return Effect(bool(seen) and all(s["free_dropped_bytes"] >= 0.9 * s["asked_bytes"] for s in seen.values()),
                      {"path": record.state["path"], "targets": seen})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The file is gone, and the free space grew back by at least 90 % of the bytes asked for since the effect
        was seen (since before the fill when that was in another process, e.g. `entchaos recover`).

        The volume or layer is usually the host's own disk, which others write to meanwhile (logs, images): measured
        against the moment just before the revert, their few megabytes do not count against the revert."""
        seen = self._seen(record)
        for target in record.targets:
            fill, s = record.state["fill"][target.id], seen[target.service]
            during = fill.get("during")
            s["freed_bytes"] = (s["now"]["free_bytes"] - during["free_bytes"] if during
                                else s["asked_bytes"] - s["free_dropped_bytes"])
        return Effect(all(s["now"]["file_bytes"] is None and s["freed_bytes"] >= 0.9 * s["asked_bytes"]
                          for s in seen.values()), {"path": record.state["path"], "targets": seen})
