"""Resilience runbooks as tests of your own suite, with the entchaos pytest plugin (installed with entchaos).

    pytest -m resilience docs/examples/test_resilience.py            # the bundled ENT stack, about 4 minutes
    pytest -m resilience --entchaos-compose-file my/compose.yaml ... # your own compose project (labelled)

`entchaos_stack` brings the stack up once for the session under a project name of its own and removes it at
the end; `run_runbook` runs a runbook on it and fails the test, with the failed checks listed, when the verdict
is not the one expected.
"""

from __future__ import annotations

from pathlib import Path

import pytest

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


@pytest.mark.resilience
def test_losing_a_datacenter_loses_no_acknowledged_write(run_runbook):
    result = run_runbook(RUNBOOKS / "datacenter-fire.yaml")  # a verdict other than pass fails the test
    assert result.metrics["lost_acked_writes"] == 0
    assert result.metrics["rto_s"] <= 30


@pytest.mark.resilience
def test_a_shorter_hold_still_recovers(run_runbook):
    # Overrides merge into the runbook as `extends` would (sections replaced whole, steps by id), validated.
    result = run_runbook(RUNBOOKS / "datacenter-fire.yaml", overrides={"stop_conditions": []})
    assert result.verdict == "pass"
