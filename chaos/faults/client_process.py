"""A bounded background process inside a client container (a flood, slow clients): started detached with its
pid in a file, so a revert (or `recover`) can stop it early; it always stops by itself anyway."""

from __future__ import annotations

import shlex
from typing import ClassVar

from chaos.faults.base import Fault, FaultContext, FaultRecord
from chaos.load.remote import client_container
from chaos.logging import get_logger
from chaos.stack.docker_api import docker_client

log = get_logger(__name__)


def start_in(container_id: str, argv: list[str], *, pid_file: str, log_file: str, output_file: str) -> None:
    command = " ".join(shlex.quote(a) for a in argv)
    script = f"rm -f {output_file}; echo $$ > {pid_file}; exec {command} > {log_file} 2>&1"
    docker_client().containers.get(container_id).exec_run(["sh", "-c", script], detach=True)


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

    def argv(self) -> list[str]:
        raise NotImplementedError

    def prepare(self, ctx: FaultContext) -> dict:
        container = client_container(ctx.stack, self.params.source)  # type: ignore[arg-type,attr-defined]
        return {"container": container.id, "source": self.params.source}  # type: ignore[attr-defined]

    def inject(self, ctx: FaultContext) -> FaultRecord:
        start_in(ctx.record.state["container"], self.argv(), pid_file=self.PID_FILE, log_file=self.LOG_FILE,
                 output_file=self.OUTPUT_FILE)
        log.info("client_process_started", fault=self.name, container=ctx.record.state["container"],
                 **self.params.model_dump())
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        stop_in(record.state["container"], pid_file=self.PID_FILE)
        log.info("client_process_stopped", fault=self.name, source=record.state.get("source"))
