"""A bounded process started detached inside a container, found again by its pid file: started, looked at,
stopped. The load in a client container and the client-process faults (flood, slow clients) run this way, so
a revert, `recover` or the engine can stop them early; they always stop by themselves anyway."""

from __future__ import annotations

import json
import shlex
from typing import Any

from chaos.stack.docker_api import docker_client

POLL_S = 0.2  # how often `stop_in` looks whether the process has ended


def start_in(container_id: str, argv: list[str], *, pid_file: str, log_file: str, output_file: str,
             stale: tuple[str, ...] = ()) -> None:
    """Start `argv` detached; `output_file` and the `stale` files of an earlier run are removed first."""
    command = " ".join(shlex.quote(a) for a in argv)
    script = f"rm -f {' '.join((output_file, *stale))}; echo $$ > {pid_file}; exec {command} > {log_file} 2>&1"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script], detach=True)


def signal_in(container_id: str, *, pid_file: str, signal: str) -> None:
    """Send `signal` (a name: USR1) to the process of `pid_file`, if it runs."""
    script = f"[ -f {pid_file} ] && kill -{signal} $(cat {pid_file}) 2>/dev/null; true"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script])


def stop_in(container_id: str, *, pid_file: str, wait_s: float = 0.0) -> None:
    """SIGINT to the process of `pid_file` (none: nothing to do), then wait up to `wait_s` for it to end (a
    process that drains and writes its last output needs that), and remove the pid file."""
    polls = round(wait_s / POLL_S)
    wait = f"for i in $(seq {polls}); do kill -0 $pid 2>/dev/null || break; sleep {POLL_S:g}; done; " if polls else ""
    script = (f"[ -f {pid_file} ] || exit 0; pid=$(cat {pid_file}); kill -INT $pid 2>/dev/null; "
              f"{wait}rm -f {pid_file}")
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script])


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
