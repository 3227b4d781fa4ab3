"""flood-abroad: on `protected` the edge sees the foreign flood, the geo filter refuses it, pupils are served;
on `unprotected` the edge tracks no source, so the flood is never detected and the verdict is `fail`."""

from __future__ import annotations

import pytest

from chaos.engine.result import RunResult
from chaos.stack.health import wait_ready
from chaos.stack.profiles import profile_env
from tests.integration.conftest import new_stack
from tests.integration.runbook_util import RUNBOOKS, check, run_runbook

pytestmark = pytest.mark.docker

RUNBOOK = RUNBOOKS / "flood-abroad.yaml"


def run_on(profile: str, tmp_path) -> RunResult:
    stack = new_stack(**profile_env(profile))
    try:
        stack.up()
        wait_ready(stack, deadline_s=240)
        return run_runbook(RUNBOOK, stack, tmp_path)
    finally:
        stack.down()



def test_flood_is_detected_and_refused_at_the_edge_on_protected(tmp_path):
    result = run_on("protected", tmp_path)
    assert result.verdict == "pass", result.reason
    m = result.metrics
    assert m["ttd_s"] <= 10
    assert m["attack_refused_ratio"] >= 0.95
    assert m["legit_success_ratio"] >= 0.99
    assert m["legit_p95_ms"] <= 1000
    assert m["app_cpu_max"] <= 0.8  # the flood is refused at the edge, not burned in the app
    assert m["slow_client_held_max_s"] <= 10  # the edge's header timeout (3 s) cuts slow clients
    assert m["lost_acked_writes"] == 0


def test_on_unprotected_the_flood_is_never_detected(tmp_path):
    result = run_on("unprotected", tmp_path)
    assert result.verdict == "fail", result.reason
    assert result.exit_code == 1
    assert not check(result, "step detect").passed, "no stick table: the edge cannot see the flood"
    assert not check(result, "attack_refused_ratio").passed
    # The steps after the failed detection still measured what the edge of 2021 let through:
    m = result.metrics
    assert m["attack_refused_ratio"] < 0.95
    assert m["slow_client_held_max_s"] > 10, "no header timeout: slow clients hang for the whole attack"
