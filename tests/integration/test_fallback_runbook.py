"""broadcast-fallback: both datacenters lost, the edge serves the day's schedule and refuses writes clearly;
a real browser reads the schedule through the edge. Without the fallback the verdict is `fail`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.probes.http import http_get
from chaos.runbook.result import RunResult
from chaos.stack.compose import ComposeStack
from chaos.stack.docker_api import docker_client
from chaos.stack.health import wait_ready
from tests.integration.browser import chromium, render
from tests.integration.conftest import new_stack
from tests.integration.runbook_util import RUNBOOKS, assert_whole, run_runbook

pytestmark = pytest.mark.docker

RUNBOOK = RUNBOOKS / "broadcast-fallback.yaml"
SCHEDULE = ("Lire et comprendre un conte", "Les fractions simples", "Théorème de Pythagore", "La conscience")


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    stack = new_stack()
    try:
        stack.up()
        wait_ready(stack, deadline_s=240)
        yield stack
    finally:
        stack.down()


def check(result: RunResult, name: str):
    return next(c for c in result.checks if c.name == name)


@retry(stop=stop_after_delay(90), wait=wait_fixed(0.25), reraise=True)
def wait_for_fallback(url: str) -> None:
    reply = http_get(url, timeout_s=2)
    assert reply.status == 200 and reply.header("X-ENT-Fallback") == "broadcast", reply.status


# The edge's `balance roundrobin` queues every request behind a non-empty backend queue ("all servers full"),
# and the `backup` fallback (no maxconn) never drains it: when the replicas die under load, every request waits
# out the queue timeout and gets the waiting room, never the fallback. `balance leastconn` in
# fixtures/edge/haproxy.cfg fixes it (measured: the fallback serves every read ~4 s after the loss).
@pytest.mark.xfail(strict=True, reason="the edge's waiting room shadows the fallback under load (roundrobin queue)")
@pytest.mark.skipif(chromium() is None, reason="chromium is not installed (apt-get install -y chromium)")
def test_fallback_serves_the_schedule_and_a_browser_reads_it(stack, tmp_path):
    png = tmp_path / "fallback.png"
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run_runbook, RUNBOOK, stack, tmp_path / "reports")
        wait_for_fallback(stack.edge_url() + "/")
        page = render(stack.edge_url() + "/", png)
        result = running.result(timeout=400)
    assert result.verdict == "pass", result.reason
    assert result.exit_code == 0
    metrics = result.metrics
    assert metrics["fallback_read_ratio"] >= 0.99
    assert metrics["fallback_write_refused_ratio"] >= 0.99
    assert metrics["writes_accepted_during_loss"] == 0
    assert metrics["lost_acked_writes"] == 0
    assert metrics["rto_s"] <= 15
    for lesson in SCHEDULE:
        assert lesson in page.dom, f"{lesson!r} not in the rendered page"
    assert png.stat().st_size > 10_000
    kept = Path(shutil.copy(png, result.folder / "fallback.png"))
    assert kept.stat().st_size == png.stat().st_size
    assert_whole(stack)


def test_without_the_fallback_the_verdict_is_fail(stack, tmp_path):
    fallback = docker_client().containers.get(next(t.id for t in stack.targets() if t.role == "fallback"))
    fallback.stop(timeout=2)
    try:
        result = run_runbook(RUNBOOK, stack, tmp_path)
    finally:
        fallback.start()
    assert result.verdict == "fail", result.reason
    assert result.exit_code == 1
    assert not check(result, "fallback_read_ratio").passed
    assert result.metrics["fallback_read_ratio"] < 0.5
    assert_whole(stack)
