"""`entchaos gate`: runbooks validated before anything runs, one combined junit.xml/summary, the worst exit code,
and a passing run failed by a figure that regressed against the baseline. The runs are fakes here (no Docker);
the real gate runs in tests/integration/test_gate.py."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ChaosError, RunbookInvalid, StackError
from chaos.gate.suite import run_gate
from chaos.model.loader import parse_runbook

RUNBOOK = """\
metadata: {{name: {name}}}
steps:
  - {{id: nothing, probe: constant, params: {{value: 1}}, record: rto_s}}
verify:
  - {{metric: rto_s, expect: {{lte: 10}}}}
regression: {{rto_s: 20%}}
"""


def runbook(name: str, tmp_path: Path) -> Any:
    path = tmp_path / f"{name}.yaml"
    path.write_text(RUNBOOK.format(name=name))
    return parse_runbook(path.read_text(), str(path))


def summary(name: str, verdict: str = "pass", rto_s: float = 5.0, failed: bool = False) -> dict[str, Any]:
    checks = [{"name": "rto_s", "phase": "verify", "passed": not failed, "expected": "<= 10",
               "observed": 12.0 if failed else rto_s, "message": None}]
    return {"runbook": name, "verdict": verdict, "reason": "rto_s: expected <= 10, observed 12" if failed else None,
            "metrics": {"rto_s": 12.0 if failed else rto_s, "run_duration_s": 30.0}, "checks": checks,
            "regression": {"rto_s": "20%"}}


class FakeRuns:
    """Plays back a given outcome per runbook, writing its summary.json as a run would."""

    def __init__(self, outcomes: dict[str, tuple[int, dict[str, Any]] | ChaosError]) -> None:
        self.outcomes, self.ran = outcomes, []

    def __call__(self, rb: Any, reports: Path) -> tuple[int, Path | None, dict[str, Any]]:
        self.ran.append(rb.name)
        outcome = self.outcomes[rb.name]
        if isinstance(outcome, ChaosError):
            raise outcome
        code, data = outcome
        folder = reports / rb.name / "run"
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text(json.dumps(data))
        return code, folder, data


def test_every_runbook_runs_and_the_worst_exit_code_wins(tmp_path: Path) -> None:
    books = [runbook(n, tmp_path) for n in ("a", "b", "c")]
    runs = FakeRuns({"a": (0, summary("a")), "b": (1, summary("b", "fail", failed=True)),
                     "c": StackError("the stack did not become healthy in 240 s")})
    result = run_gate(books, runs, tmp_path / "gate")
    assert runs.ran == ["a", "b", "c"]  # a failed runbook does not stop the others
    assert result.exit_code == 4  # environment over fail over pass
    suites = ET.parse(tmp_path / "gate" / "junit.xml").getroot()
    assert suites.tag == "testsuites" and [s.get("name") for s in suites] == ["entchaos.a", "entchaos.b", "entchaos.c"]
    assert (suites.get("failures"), suites.get("errors")) == ("1", "1")
    failure = suites.find("testsuite[@name='entchaos.b']/testcase/failure")
    assert failure is not None and "expected <= 10, observed 12" in failure.get("message", "")
    data = json.loads((tmp_path / "gate" / "summary.json").read_text())
    assert data["exit_code"] == 4 and [r["verdict"] for r in data["runs"]] == ["pass", "fail", "error"]
    md = (tmp_path / "gate" / "summary.md").read_text()
    assert md.startswith("# entchaos gate: FAIL (1 of 3 passed)") and "did not become healthy" in md
    assert result.lines()[-1] == "gate: 1 of 3 runbook(s) passed (exit 4)"


def test_all_passing_is_exit_zero(tmp_path: Path) -> None:
    books = [runbook(n, tmp_path) for n in ("a", "b")]
    result = run_gate(books, FakeRuns({"a": (0, summary("a")), "b": (0, summary("b"))}), tmp_path / "gate")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "gate" / "summary.json").read_text())["verdict"] == "pass"


def test_a_regression_against_the_baseline_fails_a_passing_run(tmp_path: Path) -> None:
    books = [runbook(n, tmp_path) for n in ("a", "b")]
    base = tmp_path / "baseline"
    first = run_gate(books, FakeRuns({"a": (0, summary("a", rto_s=5.0)), "b": (1, summary("b", "fail", failed=True))}),
                     tmp_path / "g1", baseline=base, update_baseline=True)
    assert first.exit_code == 1
    assert sorted(p.name for p in base.iterdir()) == ["a.json"]  # a failed run is no baseline
    # rto_s 5.0 -> 7.0 is +40 % against a tolerance of +20 %: every check passes, the gate fails.
    second = run_gate(books, FakeRuns({"a": (0, summary("a", rto_s=7.0)), "b": (0, summary("b"))}),
                      tmp_path / "g2", baseline=base)
    assert second.exit_code == 1
    a = second.runs[0]
    assert a.verdict == "regressed" and a.exit_code == 0
    text = "\n".join(second.lines())
    assert "REGRESSED rto_s: 5.00 s -> 7.00 s (+40.0 %), tolerance +20.0 %: worse than allowed" in text
    assert "no baseline for this runbook" in text  # b has none
    failure = ET.parse(tmp_path / "g2" / "junit.xml").getroot().find(
        "testsuite[@name='entchaos.a']/testcase[@name='regression: rto_s']/failure")
    assert failure is not None and "+40.0 %" in failure.get("message", "")
    # Within the tolerance: pass; updating, the regressed run is no baseline, the passing ones are.
    third = run_gate(books, FakeRuns({"a": (0, summary("a", rto_s=5.5)), "b": (0, summary("b"))}),
                     tmp_path / "g3", baseline=base)
    assert third.exit_code == 0
    fourth = run_gate(books, FakeRuns({"a": (0, summary("a", rto_s=9.0)), "b": (0, summary("b"))}),
                      tmp_path / "g4", baseline=base, update_baseline=True)
    assert fourth.exit_code == 1 and fourth.runs[0].regressed  # compared first, even when updating
    assert json.loads((base / "a.json").read_text())["metrics"]["rto_s"] == 5.0
    assert sorted(p.name for p in base.iterdir()) == ["a.json", "b.json"]


def test_a_missing_baseline_folder_is_invalid_input_before_anything_runs(tmp_path: Path) -> None:
    runs = FakeRuns({"a": (0, summary("a"))})
    with pytest.raises(ChaosError) as exc:
        run_gate([runbook("a", tmp_path)], runs, tmp_path / "gate", baseline=tmp_path / "nope")
    assert exc.value.exit_code == 2 and "no baseline folder" in exc.value.message and runs.ran == []


def test_an_invalid_runbook_stops_the_gate_before_the_stack_is_touched(tmp_path: Path, monkeypatch) -> None:
    from chaos import launch
    from chaos.stack.compose import ComposeStack

    def touched(*_: Any, **__: Any) -> None:
        raise AssertionError("the stack was touched before every runbook was validated")

    monkeypatch.setattr(ComposeStack, "down", touched)
    monkeypatch.setattr(ComposeStack, "up", touched)
    monkeypatch.setattr("chaos.stack.images.build_all", touched)
    good = tmp_path / "good.yaml"
    good.write_text(RUNBOOK.format(name="good"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(RUNBOOK.format(name="bad").replace("lte: 10", "lte: ten"))
    with pytest.raises(RunbookInvalid) as exc:
        launch.gate([str(good), str(bad)], tmp_path / "gate")
    assert f"{bad}:5" in exc.value.message and exc.value.exit_code == 2


def test_without_a_docker_engine_the_gate_says_so_and_exits_4(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from chaos.stack.compose import PROJECT_ROOT

    done = subprocess.run([sys.executable, "-m", "chaos.cli", "gate", "runbooks/broadcast-fallback.yaml",
                           "--out", str(tmp_path / "gate")], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert done.returncode == 4, done.stdout + done.stderr
    assert "no Docker engine answers" in done.stderr and "make setup" in done.stderr


def test_reports_go_where_the_user_runs_unless_told(tmp_path: Path, monkeypatch) -> None:
    from chaos.launch import reports_root

    monkeypatch.delenv("ENTCHAOS_REPORTS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert reports_root() == tmp_path / "reports"  # not the toolkit's own checkout
    monkeypatch.setenv("ENTCHAOS_REPORTS_DIR", str(tmp_path / "env"))
    assert reports_root() == tmp_path / "env"
    assert reports_root(tmp_path / "given") == tmp_path / "given"
