"""process-kill: a named process inside the targets gets a signal, with no tool needed inside their images.

A nettools helper joins the target's PID namespace (`--pid container:<id>`, as Pumba does) and signals every process
whose name (`/proc/PID/comm`, at most 15 characters) is `process`; the helper itself is never among them. Its
effect: the pids it signalled are gone (or zombies, or the container has stopped when one was its main process). The
main process (pid 1 in the namespace) is shielded by the kernel from signals sent from inside its namespace: that
one is sent by the engine (`docker kill --signal`). Nothing is restarted by the fault: a supervisor restarting the
process is what is being tested. The revert only starts a container that stopped because its main process was
killed.
"""

from __future__ import annotations

from typing import Any, Literal

from docker.errors import APIError, ContainerError, ImageNotFound
from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import EnvironmentProblem, FaultError
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect, register
from chaos.stack import containers
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import NETTOOLS_IMAGE, helper_name, remove_unstarted

# $1 a process name: the pids (in the target's namespace) whose comm is exactly that, with their state letter.
LIST = """for d in /proc/[0-9]*; do
  p=${d#/proc/}; [ "$p" = "$$" ] && continue
  [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ] || continue
  echo "$p $(awk '{print $3}' "$d/stat" 2>/dev/null)"
done"""
# $1 signal name, then the pids: each signalled (one already gone is fine).
SIGNAL = 'sig=$1; shift; for p in "$@"; do kill -s "$sig" "$p" 2>/dev/null || true; done'


def in_pid_namespace(container_id: str, script: str, *args: str) -> str:
    """`script` with `args` in a helper sharing the target's PID namespace; its output."""
    name = helper_name()
    try:
        out = docker_client().containers.run(NETTOOLS_IMAGE, ["sh", "-c", script, "sh", *args], name=name,
                                             pid_mode=f"container:{container_id}", remove=True,
                                             labels={"entchaos.helper": "pid"}, network_mode="none")
    except ImageNotFound as exc:
        raise EnvironmentProblem(f"{NETTOOLS_IMAGE} is missing", fix="run `make setup`") from exc
    except (APIError, ContainerError) as exc:
        remove_unstarted(name)
        raise FaultError(f"in the PID namespace of {container_id[:12]}: {exc}") from exc
    return out.decode(errors="replace")


def processes(container_id: str, process: str) -> dict[str, str]:
    """pid -> state letter of the target's processes named `process` (nothing when it is not running)."""
    if not containers.is_running(container_id):
        return {}
    found = {}
    for line in in_pid_namespace(container_id, LIST, process).splitlines():
        pid, _, state = line.partition(" ")
        found[pid] = state or "?"
    return found


class ProcessKillParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process: str = Field(pattern=r"^[A-Za-z0-9_.:@+-]{1,15}$",
                         description="the process name as the kernel knows it (/proc/PID/comm, 15 characters)")
    signal: Literal["SIGKILL", "SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGABRT", "SIGUSR1", "SIGUSR2"] = "SIGKILL"


@register("process-kill")
class ProcessKill(Fault[ProcessKillParams]):
    """Every process named `process` inside the targets gets `signal` (SIGKILL by default)."""

    def prepare(self, ctx: FaultContext) -> dict[str, Any]:
        found = {t.id: sorted(processes(t.id, self.params.process)) for t in ctx.targets}
        if not any(found.values()):
            raise FaultError(f"no process named {self.params.process!r} runs in "
                             f"{', '.join(t.service for t in ctx.targets)}",
                             fix="name a process the target runs (`docker top <container>` lists them)")
        return {"pids": found}

    def inject(self, ctx: FaultContext) -> FaultRecord:
        signal = self.params.signal.removeprefix("SIG")
        for target in ctx.targets:
            pids = ctx.record.state["pids"].get(target.id) or []
            if others := [p for p in pids if p != "1"]:
                in_pid_namespace(target.id, SIGNAL, signal, *others)
            if "1" in pids:  # last: the container ends with it
                # The kernel shields a namespace's init from its own namespace's signals: the engine sends it.
                containers.kill(target.id, self.params.signal)
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target in record.targets:
            if containers.exists(target.id) and not containers.is_running(target.id):
                containers.start(target.id)  # its main process was among those killed

    def _left(self, record: FaultRecord) -> dict[str, Any]:
        seen = {}
        for target in record.targets:
            signalled = record.state["pids"].get(target.id, [])
            now = processes(target.id, self.params.process)
            seen[target.service] = {
                "signalled": signalled, "container": containers.state(target.id),
                "still_there": sorted(p for p in signalled if p in now and now[p] != "Z"),
                "named_so_now": sorted(now)}
        return seen

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every pid signalled is gone (a zombie counts as gone), or its container has stopped."""
        def look() -> Effect:
            seen = self._left(record)
            return Effect(all(not s["still_there"] for s in seen.values()), {"targets": seen})

        return poll_effect(look, deadline_s=15, interval_s=0.5, abort=ctx.abort)

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Every target container runs (whatever restarted the process, or not, is the service's own doing)."""
        def look() -> Effect:
            states = {t.service: containers.state(t.id) for t in record.targets}
            return Effect(all(s == "running" for s in states.values()), {"states": states})

        return poll_effect(look, deadline_s=30, interval_s=0.5, abort=ctx.abort)
