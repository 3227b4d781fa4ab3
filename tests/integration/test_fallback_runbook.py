"""broadcast-fallback: both datacenters lost, the edge serves the day's schedule and refuses writes clearly;
a real browser reads the schedule through the edge. Without the fallback the verdict is `fail`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.probes.base import ProbeContext
from chaos.probes.browser import BrowserPage
from chaos.probes.http import http_get
from chaos.stack.compose import ComposeStack
from chaos.stack.profiles import profile_env
from tests.integration.conftest import running_stack
from tests.integration.runbook_util import RUNBOOKS, assert_whole, run_runbook

pytestmark = pytest.mark.docker

RUNBOOK = RUNBOOKS / "broadcast-fallback.yaml"
SCHEDULE = ("Lire et comprendre un conte", "Les fractions simples", "Théorème de Pythagore", "La conscience")


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack() as stack:
        yield stack



@retry(stop=stop_after_delay(90), wait=wait_fixed(0.25), reraise=True)
def wait_for_fallback(url: str) -> None:
    reply = http_get(url, timeout_s=2)
    assert reply.status == 200 and reply.header("X-ENT-Fallback") == "broadcast", reply.status


def test_fallback_serves_the_schedule_and_a_browser_reads_it(stack, tmp_path):
    result = run_runbook(RUNBOOK, stack, tmp_path)
    assert result.verdict == "pass", result.reason
    assert result.exit_code == 0
    metrics = result.metrics
    assert metrics["time_to_fallback_s"] <= 5
    assert metrics["fallback_read_ratio"] >= 0.99
    assert metrics["fallback_write_refused_ratio"] >= 0.99
    assert metrics["writes_accepted_during_loss"] == 0
    assert metrics["lost_acked_writes"] == 0
    assert metrics["rto_s"] <= 15
    # The runbook's browser read the whole schedule and kept its screenshot in the report.
    assert metrics["browser_schedule_ratio"] == 1
    png = result.folder / "fallback.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # The test reads the schedule itself from the page as Chromium rendered it during the loss.
    dom = (result.folder / "fallback.html").read_text()
    for lesson in SCHEDULE:
        assert lesson in dom, f"{lesson!r} not in the rendered page"
    # The app is back: the same probe on the portal finds none of the schedule (the check can fail).
    page = BrowserPage({"texts": list(SCHEDULE), "screenshot": "portal.png"})
    assert page.measure(ProbeContext(stack, folder=tmp_path)) == 0
    assert_whole(stack)


def test_on_unprotected_there_is_no_fallback_and_the_verdict_is_fail(tmp_path):
    with running_stack(**profile_env("unprotected")) as unprotected:
        result = run_runbook(RUNBOOK, unprotected, tmp_path)
        assert_whole(unprotected)  # the replicas are back after the run
        # The edge of 2021 has no backup server: when the app is gone, users get bare errors, never the broadcast.
        stats = http_get("http://{}:{}/stats;csv".format(*unprotected.published("edge", 8404)), timeout_s=5)
        assert stats.status == 200 and b"ent_app,fallback," not in stats.body
    assert result.verdict == "fail", result.reason
    assert result.exit_code == 1
    assert "fallback-serves" in result.reason and "broadcast" in result.reason
    assert "time_to_fallback_s" not in result.metrics
    # The steps after it still measured what users got: no read answered by a fallback, no schedule to read.
    assert result.metrics["fallback_read_ratio"] < 0.5 and result.metrics["browser_schedule_ratio"] < 1
