"""The pytest plugin's parts that need no Docker: what a failed verdict tells the test, and that the plugin is
registered by its entry point (so a team's suite gets it by installing entchaos)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from chaos.pytest_plugin import RunbookOutcome


def test_a_failed_verdict_lists_its_failed_checks_with_expected_and_observed() -> None:
    outcome = RunbookOutcome(
        runbook="datacenter-fire", verdict="fail", exit_code=1, reason="rto_s: expected <= 30, observed 41",
        metrics={"rto_s": 41.0},
        checks=[{"name": "rto_s", "passed": False, "expected": "<= 30", "observed": 41.0},
                {"name": "lost_acked_writes", "passed": True, "expected": "== 0", "observed": 0}],
        folder=Path("/tmp/r"))
    text = outcome.explain()
    assert text.splitlines() == [
        "datacenter-fire: verdict fail (exit 1)",
        "  why: rto_s: expected <= 30, observed 41",
        "  ✗ rto_s: expected <= 30, observed 41.0",
        "  report: /tmp/r/report.html",
    ]
    assert [c["name"] for c in outcome.failed_checks] == ["rto_s"]


def test_the_plugin_is_registered_for_pytest() -> None:
    entry = [e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "entchaos"]
    assert entry and entry[0].value == "chaos.pytest_plugin"


def test_the_resilience_marker_is_known(pytestconfig) -> None:
    assert any(line.startswith("resilience:") for line in pytestconfig.getini("markers"))
