"""A bounded background process inside a client container (a flood, slow clients): started detached with its
pid in a file, so a revert (or `recover`) can stop it early; it always stops by itself anyway.

Its effect is the process's own doing: it runs, and holds TCP connections (counted from its file descriptors
and the kernel's table); a subclass adds its own figures (the flood's sent requests). Reverted: no process
of that command line is left in the container.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, poll_effect
from chaos.load.interface import ClientSource
from chaos.load.remote import client_container
from chaos.log import get_logger
from chaos.stack.container_process import look_in, start_in, stop_in

log = get_logger(__name__)


class ClientParams(BaseModel):
    """What the parameters of every client-process fault hold: the client network its process runs in."""

    source: ClientSource


SP = TypeVar("SP", bound=ClientParams)


class ClientProcessFault(Fault[SP]):
    """A fault whose attack is `argv()` run in the client container of `params.source`; revert stops it.

    The targets are the victims (chaos-allowed app replicas); the container is chosen before injection, so
    the journal knows where to stop it.
    """

    PID_FILE: ClassVar[str]
    LOG_FILE: ClassVar[str]
    OUTPUT_FILE: ClassVar[str]
    STALE_FILES: ClassVar[tuple[str, ...]] = ()  # written while it runs: removed before it starts

    def argv(self) -> list[str]:
        """The attack's command line, run in the client container."""
        raise NotImplementedError

    def prepare(self, ctx: FaultContext) -> Mapping[str, Any]:
        container = client_container(ctx.stack, self.params.source)
        return {"container": container.id, "source": self.params.source}

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
        """What the process does now (`container_process.look_in`): alive, its connections, its processes."""
        return look_in(record.state["container"], pid_file=self.PID_FILE, marker=self.OUTPUT_FILE)

    def took_effect(self, seen: dict[str, Any]) -> bool:
        """Whether what `look` saw (plus what `extra_evidence` added) shows the attack under way."""
        raise NotImplementedError

    def extra_evidence(self, record: FaultRecord) -> dict[str, Any]:
        """The subclass's own figures, read while the process is alive (the flood's sent requests)."""
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
