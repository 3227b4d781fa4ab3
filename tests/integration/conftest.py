"""The real stack in real Docker: a unique compose project per test session, always torn down."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chaos.errors import StaleNetwork
from chaos.stack.compose import ComposeStack, isolated_env

TINY = Path(__file__).parent / "tiny" / "compose.yaml"  # the small non-ENT project ("a shop in two zones")


def tiny_runbook(name: str, bound: float, value: float = 3) -> str:
    """A short runbook on the small project: west paused for 1 s, then `rto_s` = `value` checked against `bound`
    (the gate's and the pytest plugin's tests; seconds to run)."""
    return f"""\
metadata: {{name: {name}}}
stack: {{compose_file: {TINY}}}
hypothesis:
  probes:
    - {{name: steady, probe: constant, params: {{value: 1}}, expect: {{eq: 1}}}}
steps:
  - {{id: frozen, fault: pause, target: {{datacenter: west}}, duration_s: 1}}
  - {{id: measured, probe: constant, params: {{value: {value:g}}}, record: rto_s}}
verify:
  - {{metric: rto_s, expect: {{lte: {bound:g}}}}}
"""


def unique_project(prefix: str = "entchaos-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def down(stack: ComposeStack) -> None:
    """`stack.down()`; a network the engine keeps with a stale endpoint it does not list (a Docker bug, nothing of
    the project running) is a warning here, not a failure of the test that used the stack."""
    try:
        stack.down()
    except StaleNetwork as exc:
        warnings.warn(exc.message, stacklevel=2)


def new_stack(**env: str) -> ComposeStack:
    return ComposeStack(project=unique_project(), env={**isolated_env(), **env})


@contextmanager
def running_stack(**env: str) -> Iterator[ComposeStack]:
    """A copy of the bundled stack of its own, up and healthy; always removed afterwards."""
    from chaos.stack.health import wait_ready

    stack = new_stack(**env)
    try:
        stack.up()
        wait_ready(stack, deadline_s=240)
        yield stack
    finally:
        down(stack)


@contextmanager
def compose_stack(prefix: str, compose_file: Path = TINY) -> Iterator[ComposeStack]:
    """A compose project of its own (default: the small non-ENT one), up and healthy; always removed."""
    from chaos.stack.health import wait_ready

    stack = ComposeStack(project=unique_project(prefix), compose_file=compose_file)
    try:
        stack.up()
        wait_ready(stack, deadline_s=60)
        yield stack
    finally:
        down(stack)


@pytest.fixture(scope="module")
def ent_stack() -> Iterator[ComposeStack]:
    """The bundled ENT stack, up and healthy, shared by the read-only and repairable tests of one module. Not
    for the whole session: an idle stack's health checks (a docker exec every 2 s per container) would share
    the 2 cores with the scenarios measured after it (the overload runbook's capacity ramp among them)."""
    with running_stack(ENTCHAOS_APP_COST_MS=os.environ.get("ENTCHAOS_TEST_APP_COST_MS", "1")) as stack:
        yield stack
