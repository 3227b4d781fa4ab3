"""A bounded background process inside a client container (a flood, slow clients): started detached with its
pid in a file, so a revert (or `recover`) can stop it early; it always stops by itself anyway.

Its effect is the process's own doing: it runs, and holds TCP connections (counted from its file descriptors
and the kernel's table); a subclass adds its own figures (the flood's sent requests). Reverted: no process
of that command line is left in the container.
"""

from __future__ import annotations

import json
import shlex
from typing import Any, ClassVar

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect
from chaos.load.remote import client_container
from chaos.log import get_logger
from chaos.stack.docker_api import docker_client

log = get_logger(__name__)


def start_in(container_id: str, argv: list[str], *, pid_file: str, log_file: str, output_file: str,
             stale: tuple[str, ...] = ()) -> None:
    """Start `argv` detached; `output_file` and the `stale` files of an earlier run are removed first."""
    command = " ".join(shlex.quote(a) for a in argv)
    script = f"rm -f {' '.join((output_file, *stale))}; echo $$ > {pid_file}; exec {command} > {log_file} 2>&1"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script], detach=True)


# Run by the container's python: the process of the pid file, alive or not, and its established TCP sockets;
# the processes whose command line names `marker`.
_LOOK = r"""
import json, os, sys
pid_file, marker = sys.argv[1], sys.argv[2]
try:
    pid = open(pid_file).read().strip()
except OSError:
    pid = None
alive = bool(pid) and os.path.isdir(f"/proc/{pid}")
inodes = set()
if alive:
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
established = 0
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    established += sum(1 for r in rows if r.split()[3] == "01" and r.split()[9] in inodes)
running = []
for p in os.listdir("/proc"):
    if p.isdigit() and p != str(os.getpid()):
        try:
            cmd = open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and "entchaos-look" not in cmd:
            running.append(int(p))
print(json.dumps({"pid": int(pid) if pid else None, "alive": alive, "established": established,
                  "processes": sorted(running)}))
"""


def look_in(container_id: str, *, pid_file: str, marker: str) -> dict[str, Any]:
    """What the process of `pid_file` does now, and which processes of `marker` run in the container."""
    code, out = docker_client().containers.get(container_id).exec_run(
        ["python3", "-c", _LOOK, pid_file, marker, "entchaos-look"])
    text = out.decode(errors="replace").strip()
    if code != 0:
        return {"error": text.splitlines()[-1] if text else f"exit {code}", "alive": False, "processes": []}
    return dict(json.loads(text.splitlines()[-1]))


def stop_in(container_id: str, *, pid_file: str) -> None:
    stop = f"[ -f {pid_file} ] && kill -INT $(cat {pid_file}) 2>/dev/null; rm -f {pid_file}; true"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", stop])


class ClientProcessFault(Fault):
    """A fault whose attack is `argv()` run in the client container of `params.source`; revert stops it.

    The targets are the victims (chaos-allowed app replicas); the container is chosen before injection, so
    the journal knows where to stop it.
    """

    PID_FILE: ClassVar[str]
    LOG_FILE: ClassVar[str]
    OUTPUT_FILE: ClassVar[str]
    STALE_FILES: ClassVar[tuple[str, ...]] = ()  # written while it runs: removed before it starts

    def argv(self) -> list[str]:
        raise NotImplementedError

    def prepare(self, ctx: FaultContext) -> dict:
        container = client_container(ctx.stack, self.params.source)  # type: ignore[arg-type,attr-defined]
        return {"container": container.id, "source": self.params.source}  # type: ignore[attr-defined]

    def inject(self, ctx: FaultContext) -> FaultRecord:
        start_in(ctx.record.state["container"], self.argv(), pid_file=self.PID_FILE, log_file=self.LOG_FILE,
                 output_file=self.OUTPUT_FILE, stale=self.STALE_FILES)
        log.info("client_process_started", fault=self.name, container=ctx.record.state["container"],
                 **self.params.model_dump())
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        stop_in(record.state["container"], pid_file=self.PID_FILE)
        log.info("client_process_stopped", fault=self.name, source=record.state.get("source"))

    def look(self, record: FaultRecord) -> dict[str, Any]:
        return look_in(record.state["container"], pid_file=self.PID_FILE, marker=self.OUTPUT_FILE)

    def took_effect(self, seen: dict[str, Any]) -> bool:
        """Whether what `look` saw (plus what `extra_evidence` added) shows the attack under way."""
        raise NotImplementedError

    def extra_evidence(self, record: FaultRecord) -> dict[str, Any]:
        return {}

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """The process runs in the client container and does its work (see `took_effect`), within 15 s."""
        def look() -> Effect:
            seen = self.look(record)
            if seen.get("alive"):  # a dead process's files are an earlier run's
                seen.update(self.extra_evidence(record))
            return Effect(bool(seen.get("alive")) and self.took_effect(seen),
                          {"source": record.state.get("source"), **seen})

        return poll_effect(look, deadline_s=15, interval_s=0.25, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """No process of that command line is left in the client container (it may take seconds to finish)."""
        def look() -> Effect:
            seen = self.look(record)
            return Effect("error" not in seen and not seen.get("processes"), {"source": record.state.get("source"),
                                                                               **seen})

        return poll_effect(look, deadline_s=20, interval_s=0.25, abort=ctx.abort)
