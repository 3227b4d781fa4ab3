"""Run the same load generator inside a client container (internet-fr, internet-abroad).

The edge then sees the source addresses of that client network, as it would see French or foreign
users. Output streams back live; the JSON series and the ledger are copied out when asked for.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from docker.models.containers import Container

from chaos.errors import InvalidInput, StackError
from chaos.load.interface import SOURCES
from chaos.load.journey_spec import load_journeys
from chaos.log import get_logger
from chaos.stack.containers import read_file, write_file
from chaos.stack.docker_api import docker_client
from chaos.stack.endpoint import EDGE_INSIDE
from chaos.stack.interface import Stack

log = get_logger(__name__)



def client_container(stack: Stack, source: str) -> Container:
    """The running client container on `source`'s network (`internet-fr`, `internet-abroad`)."""
    if source not in SOURCES[1:]:
        raise InvalidInput(f"unknown load source {source!r}", fix=f"choose one of: {', '.join(SOURCES)}")
    for target in stack.targets():
        if target.role == "client" and target.datacenter == source and target.status == "running":
            return docker_client().containers.get(target.id)
    raise StackError(
        f"no running client container on {source} in project {stack.project!r}",
        fix="label one `entchaos.role: client` and `entchaos.datacenter: " + source + "` (the bundled stack has one)",
    )


def fetch_file(container: Container, inside: str, outside: Path) -> None:
    """Copy the file `inside` the container to `outside` on the host; StackError when it was not written."""
    data = read_file(container.id, inside)
    if data is None:
        raise StackError(f"{inside} was not written", where=container.name, fix="see the generator's output above")
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_bytes(data)


def run_remote(stack: Stack, source: str, argv: Sequence[str], *, json_path: str | None = None,
               ledger_path: str | None = None, journeys_file: str | None = None, out: TextIO = sys.stdout) -> int:
    """argv: the load arguments without --target/--json/--ledger/--journeys (set here for inside the container;
    a journeys file is checked here, then copied in)."""
    container = client_container(stack, source)
    cmd = ["python", "-m", "chaos.load", "--target", EDGE_INSIDE, *argv]
    if journeys_file:
        load_journeys(journeys_file)  # its problems at file:line here, before anything is sent
        write_file(container.id, "/tmp/entchaos-journeys.yaml", Path(journeys_file).read_text())
        cmd += ["--journeys", "/tmp/entchaos-journeys.yaml"]
    if json_path:
        cmd += ["--json", "/tmp/entchaos-load.jsonl"]
    if ledger_path:
        cmd += ["--ledger", "/tmp/entchaos-ledger.jsonl"]
    log.info("load_started_remote", source=source, container=container.name)
    exec_id = docker_client().api.exec_create(container.id, cmd, tty=False)["Id"]
    for chunk in docker_client().api.exec_start(exec_id, stream=True):
        out.write(chunk.decode(errors="replace"))
        out.flush()
    code = docker_client().api.exec_inspect(exec_id)["ExitCode"] or 0
    if json_path:
        fetch_file(container, "/tmp/entchaos-load.jsonl", Path(json_path))
    if ledger_path:
        fetch_file(container, "/tmp/entchaos-ledger.jsonl", Path(ledger_path))
    return int(code)
