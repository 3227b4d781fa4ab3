"""`entchaos gate`: several runbooks on one stack, one verdict for a CI pipeline.

Every runbook is validated before anything runs (one invalid runbook: exit 2, nothing touched). The stack is
brought up once; before each runbook only what its settings change is recreated (compose compares the
configuration), so a runbook with stack settings (`runbooks/<name>.env`) gets them and the next one gets the
defaults back. The runs write their own folders; the gate adds one `junit.xml` (a test suite per runbook), one
`summary.md` and one `summary.json` beside them. The gate's exit code is the worst of the runs' (0 pass, 1 fail,
3 aborted, 4 environment), and a figure regressed against the baseline fails its runbook. With
`update_baseline`, the runs that passed (and did not regress) then become the baseline.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.errors import ChaosError, InvalidInput
from chaos.gate.compare import RunComparison, compare_summaries
from chaos.gate.regression import describe
from chaos.log import get_logger
from chaos.model import runbook as m

log = get_logger(__name__)

SUMMARY = "summary.json"


@dataclass
class GateRun:
    """One runbook of the gate: where its run went, what it said, and how it compares with the baseline."""

    path: Path
    name: str
    exit_code: int
    summary: dict[str, Any]
    folder: Path | None = None
    comparison: RunComparison | None = None
    baseline_missing: bool = False

    @property
    def regressed(self) -> bool:
        return self.comparison is not None and not self.comparison.ok

    @property
    def gate_exit_code(self) -> int:
        """The run's own exit code, or 1 when it passed but regressed against the baseline."""
        return 1 if self.exit_code == 0 and self.regressed else self.exit_code

    @property
    def verdict(self) -> str:
        return "regressed" if self.exit_code == 0 and self.regressed else str(self.summary.get("verdict", "error"))


@dataclass
class GateResult:
    """All the runbooks of one gate, in the order they ran."""

    runs: list[GateRun] = field(default_factory=list)
    out: Path | None = None

    @property
    def exit_code(self) -> int:
        """The worst of the runs': environment (4) over aborted (3) over fail (1) over pass (0)."""
        return max((r.gate_exit_code for r in self.runs), default=0)

    def lines(self) -> list[str]:
        """One line per runbook and the gate's verdict: what a CI log shows last."""
        out = []
        for r in self.runs:
            metrics = r.summary.get("metrics") or {}
            took = metrics.get("run_duration_s")
            line = f"{r.verdict.upper():9} {r.name}" + (f" ({took:.0f} s)" if isinstance(took, int | float) else "")
            if r.summary.get("reason") and r.exit_code:
                line += f": {r.summary['reason']}"
            out.append(line)
            if r.comparison is not None:
                out.extend(f"          REGRESSED {c.message()}" for c in r.comparison.regressions)
            if r.baseline_missing:
                out.append("          (no baseline for this runbook: nothing to compare with)")
        passed = sum(1 for r in self.runs if r.gate_exit_code == 0)
        out.append(f"gate: {passed} of {len(self.runs)} runbook(s) passed (exit {self.exit_code})")
        return out


RunOne = Callable[[m.Runbook, Path], tuple[int, Path | None, dict[str, Any]]]
"""Runs one runbook (the stack prepared), its reports under the given folder: exit code, run folder, summary."""


def run_gate(runbooks: Sequence[m.Runbook], run_one: RunOne, out: Path, *, baseline: Path | None = None,
             update_baseline: bool = False) -> GateResult:
    """Run each runbook with `run_one`, then write the combined reports into `out`."""
    if baseline is not None and not update_baseline and not baseline.is_dir():
        raise InvalidInput(f"no baseline folder at {baseline}",
                           fix="give the folder `entchaos gate --update-baseline --baseline DIR` wrote")
    out.mkdir(parents=True, exist_ok=True)
    result = GateResult(out=out)
    for index, runbook in enumerate(runbooks, 1):
        log.info("gate_runbook", runbook=runbook.name, index=index, of=len(runbooks))
        try:
            code, folder, summary = run_one(runbook, out)
        except ChaosError as exc:  # the stack would not come up, Docker went away: this runbook, not the gate
            log.warning("gate_runbook_failed", runbook=runbook.name, error=exc.message)
            code, folder, summary = exc.exit_code, None, {"runbook": runbook.name, "verdict": "error",
                                                            "reason": exc.message, "metrics": {}, "checks": []}
        run = GateRun(Path(runbook.source), runbook.name, code, summary, folder)
        if baseline is not None:
            _compare_with_baseline(run, baseline)
        result.runs.append(run)
    if baseline is not None and update_baseline:
        write_baseline(result, baseline)
    write_gate_reports(result, out)
    return result


def _compare_with_baseline(run: GateRun, baseline: Path) -> None:
    file = baseline / f"{run.name}.json"
    if not file.is_file():
        run.baseline_missing = True
        return
    if not run.summary.get("regression"):
        return  # the runbook declares no tolerance: nothing is judged against the baseline
    run.comparison = compare_summaries(file, json.loads(file.read_text(encoding="utf-8")),
                                       run.folder / SUMMARY if run.folder else Path(run.name), run.summary)


def write_baseline(result: GateResult, baseline: Path) -> None:
    """Each passing run's summary.json as `<runbook>.json` in `baseline`: a failed or regressed run is no baseline
    (so a slow drift cannot walk the baseline down one tolerance at a time)."""
    baseline.mkdir(parents=True, exist_ok=True)
    for run in result.runs:
        if run.gate_exit_code == 0 and run.folder is not None and (run.folder / SUMMARY).is_file():
            shutil.copyfile(run.folder / SUMMARY, baseline / f"{run.name}.json")
            log.info("baseline_written", runbook=run.name, file=str(baseline / f"{run.name}.json"))
        else:
            log.warning("baseline_not_written", runbook=run.name, verdict=run.verdict,
                        reason="only a passing run is a baseline")


def write_gate_reports(result: GateResult, out: Path) -> None:
    """junit.xml (a suite per runbook), summary.json and summary.md of the whole gate, in `out`."""
    from chaos.report.junit import junit_suites
    from chaos.report.markdown import gate_markdown

    (out / "junit.xml").write_text(junit_suites([_with_regressions(r) for r in result.runs]), encoding="utf-8")
    runs: list[dict[str, Any]] = [
        {"runbook": r.name, "file": str(r.path), "verdict": r.verdict, "exit_code": r.gate_exit_code,
         "folder": str(r.folder) if r.folder else None, "reason": r.summary.get("reason"),
         "metrics": r.summary.get("metrics") or {},
         "regressions": [c.message() for c in r.comparison.regressions] if r.comparison else []}
        for r in result.runs]
    data = {"verdict": "pass" if result.exit_code == 0 else "fail", "exit_code": result.exit_code, "runs": runs}
    (out / SUMMARY).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    (out / "summary.md").write_text(gate_markdown(runs), encoding="utf-8")


def _with_regressions(run: GateRun) -> dict[str, Any]:
    """The run's summary, with one failed check per regressed figure (JUnit shows them like the others)."""
    if run.comparison is None:
        return run.summary
    extra = [{"name": f"regression: {c.metric}", "phase": "regression", "passed": not c.regressed,
              "expected": f"within {describe(c.tolerance, c.metric)} of the baseline's {c.baseline}",
              "observed": c.current, "message": c.message()} for c in run.comparison.comparisons]
    return {**run.summary, "checks": [*(run.summary.get("checks") or []), *extra]}
