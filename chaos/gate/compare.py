"""`entchaos compare BASELINE RUN`: two runs' figures side by side, judged by the run's regression tolerances.

A run is a run folder (`reports/<runbook>/<stamp>/`, `reports/latest`) or its `summary.json`. The tolerances are
those the run's runbook declares (`regression:`, kept in its summary.json); a figure worse than the baseline's by
more than its tolerance is a regression, and the comparison fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos.errors import InvalidInput
from chaos.gate.regression import Comparison, compare, describe
from chaos.model.regression_tolerance import RegressionTolerance, parse_tolerance

SUMMARY = "summary.json"


@dataclass(frozen=True)
class RunFigures:
    """What a comparison needs of one run: where it is, its runbook, verdict, metrics and declared tolerances."""

    path: Path
    runbook: str
    verdict: str
    metrics: Mapping[str, Any]
    regression: Mapping[str, Any]


def read_run(path: str | Path) -> RunFigures:
    """A run folder or a `summary.json`, read; `InvalidInput` saying what is missing and where."""
    given = Path(path)
    file = given / SUMMARY if given.is_dir() else given
    if not file.is_file():
        raise InvalidInput(f"no {SUMMARY} at {given}",
                           fix="give a run folder (reports/<runbook>/<stamp>/) or its summary.json")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{file} is not a readable summary.json: {exc}",
                           fix="give the summary.json a run wrote") from None
    return figures_of(file, data)


def figures_of(file: Path, data: Any) -> RunFigures:
    """What a comparison needs of a summary already read from `file`."""
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise InvalidInput(f"{file} has no `metrics`", fix="give the summary.json a run wrote")
    regression = data.get("regression") or {}
    return RunFigures(file, str(data.get("runbook", "unknown")), str(data.get("verdict", "unknown")),
                      data["metrics"], regression if isinstance(regression, dict) else {})


def tolerances_of(run: RunFigures) -> dict[str, RegressionTolerance]:
    """The run's declared tolerances, parsed again (a summary.json is input like any other)."""
    found: dict[str, RegressionTolerance] = {}
    for metric, spec in run.regression.items():
        try:
            found[str(metric)] = parse_tolerance(spec)
        except ValueError as exc:
            raise InvalidInput(f"{run.path}: regression.{metric}: expected {exc}, found {spec!r}",
                               fix="declare tolerances in the runbook's `regression:` and run it again") from None
    return found


@dataclass(frozen=True)
class RunComparison:
    """Two runs compared: every tolerated metric, and whether any regressed."""

    baseline: RunFigures
    run: RunFigures
    comparisons: list[Comparison]

    @property
    def regressions(self) -> list[Comparison]:
        """The metrics worse than their tolerance allows."""
        return [c for c in self.comparisons if c.regressed]

    @property
    def ok(self) -> bool:
        return not self.regressions

    def lines(self) -> list[str]:
        """What the command prints: the two runs, one line per metric, and the verdict."""
        head = [f"baseline: {self.baseline.path} ({self.baseline.runbook}, {self.baseline.verdict})",
                f"run:      {self.run.path} ({self.run.runbook}, {self.run.verdict})"]
        if self.baseline.runbook != self.run.runbook:
            head.append(f"note: the runs are of different runbooks ({self.baseline.runbook}, {self.run.runbook})")
        body = [("REGRESSED  " if c.regressed else "ok         ") + c.message() for c in self.comparisons]
        n = len(self.regressions)
        tail = [f"{n} of {len(self.comparisons)} figures regressed" if n
                else f"no regression ({len(self.comparisons)} figures within tolerance)"]
        return head + body + tail


def comparison_page(baseline: str | Path, run: str | Path, out: str | Path) -> RunComparison | None:
    """Write the two runs side by side as an HTML page (`out`); their comparison when the run's runbook declares
    tolerances (None: the figures are only shown, e.g. protected against unprotected)."""
    from chaos.report.comparison import comparison_html

    base, current = read_run(baseline), read_run(run)
    result = _compare(base, current) if current.regression else None
    judged = {c.metric: (describe(c.tolerance, c.metric), not c.regressed) for c in result.comparisons} \
        if result else {}
    page = comparison_html(_summary(base.path), _summary(current.path), judged,
                           title=f"{base.runbook} ({base.verdict}) against {current.runbook} ({current.verdict})")
    Path(out).write_text(page, encoding="utf-8")
    return result


def _summary(file: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    return data


def compare_runs(baseline: str | Path, run: str | Path) -> RunComparison:
    """Compare `run` with `baseline` by the tolerances `run`'s runbook declares."""
    return _compare(read_run(baseline), read_run(run))


def compare_summaries(baseline_file: Path, baseline: Any, run_file: Path, run: Any) -> RunComparison:
    """`compare_runs` on two summaries already read (the gate has its runs' in memory)."""
    return _compare(figures_of(baseline_file, baseline), figures_of(run_file, run))


def _compare(base: RunFigures, current: RunFigures) -> RunComparison:
    tolerances = tolerances_of(current)
    if not tolerances:
        raise InvalidInput(f"{current.path}: the runbook {current.runbook!r} declares no regression tolerances",
                           fix="add `regression: {rto_s: 20%, lost_acked_writes: 0}` (per metric) to the runbook, "
                               "run it again, and compare that run")
    return RunComparison(base, current, compare(base.metrics, current.metrics, tolerances))
