"""A bounded background process inside a client container (a flood, slow clients): started detached with its
pid in a file, so a revert (or `recover`) can stop it early; it always stops by itself anyway."""

from __future__ import annotations

import shlex

from chaos.stack.docker_api import docker_client


def start_in(container_id: str, argv: list[str], *, pid_file: str, log_file: str, output_file: str) -> None:
    command = " ".join(shlex.quote(a) for a in argv)
    script = f"rm -f {output_file}; echo $$ > {pid_file}; exec {command} > {log_file} 2>&1"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script], detach=True)


def stop_in(container_id: str, *, pid_file: str) -> None:
    stop = f"[ -f {pid_file} ] && kill -INT $(cat {pid_file}) 2>/dev/null; rm -f {pid_file}; true"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", stop])
