"""The pytest plugin, as a team would use it: a test file using `run_runbook` and the `resilience` marker, run by
pytest in a subprocess on the small non-ENT project. A passing runbook passes its test; a failing verdict fails
its test with the failed check (expected and observed) in the output; overrides are validated like runbooks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import TINY, tiny_runbook

pytestmark = pytest.mark.docker

DOCS_EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "test_resilience.py"

RUNBOOK = tiny_runbook("tiny-pause", 5)

TESTS = """\
import pytest

@pytest.mark.resilience
def test_holds(run_runbook):
    result = run_runbook("tiny-pause.yaml")
    assert result.metrics["rto_s"] == 3

@pytest.mark.resilience
def test_too_strict(run_runbook):
    run_runbook("tiny-pause.yaml", overrides={"verify": [{"metric": "rto_s", "expect": {"lte": 1}}]})

@pytest.mark.resilience
def test_expected_to_fail(run_runbook):
    result = run_runbook("tiny-pause.yaml", expect="fail",
                         overrides={"verify": [{"metric": "rto_s", "expect": {"lte": 1}}]})
    assert [c["name"] for c in result.failed_checks] == ["rto_s"] and result.runbook == "tiny-pause.overrides"

@pytest.mark.resilience
def test_bad_override(run_runbook):
    run_runbook("tiny-pause.yaml", overrides={"verify": [{"metric": "rto_s", "expect": {"lte": "one"}}]})

def test_not_resilience():
    pass
"""


def test_runbooks_as_tests_of_a_teams_suite(tmp_path):
    (tmp_path / "tiny-pause.yaml").write_text(RUNBOOK)
    (tmp_path / "test_team.py").write_text(TESTS)
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "resilience", "-p", "no:cacheprovider",
                           "--entchaos-compose-file", str(TINY), "-rA", "test_team.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ENTCHAOS_REPORTS_DIR": str(tmp_path / "reports")})
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert re.search(r"2 failed, 2 passed, 1 deselected", out), out
    assert re.search(r"PASSED \S*::test_holds", out) and re.search(r"PASSED \S*::test_expected_to_fail", out)
    assert "expected the verdict pass, got fail" in out and "✗ rto_s: expected <= 1.0, observed 3" in out
    assert re.search(r"FAILED \S*::test_bad_override", out) and "verify[0].expect.lte" in out
    # The session's stack is gone with the session.
    left = subprocess.run(["docker", "ps", "-a", "--filter", "label=com.docker.compose.project", "--format",
                           "{{.Label \"com.docker.compose.project\"}}"], capture_output=True, text=True).stdout
    assert "entchaos-pytest-" not in left


def test_the_docs_example_is_collected_with_its_marker():
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "resilience",
                           "-p", "no:cacheprovider", str(DOCS_EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 tests collected" in done.stdout, done.stdout
