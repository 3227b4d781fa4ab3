"""Regression against a baseline: a figure that got worse than last time by more than its declared tolerance.

The tolerances are the runbook's (`regression: {rto_s: 20%, lost_acked_writes: 0}`, `chaos.model.regression_tolerance`);
this compares two runs' metrics with them and says so in words. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaos.model.regression_tolerance import RegressionTolerance
from chaos.report.figures import figure, sig3


def describe(tolerance: RegressionTolerance, metric: str) -> str:
    """`+20.0 %`, `+0`, `-1.00 %`: the tolerance in the worse direction, in the metric's unit."""
    sign = "+" if tolerance.direction(metric) == "higher" else "-"
    if tolerance.relative is not None:
        return f"{sign}{sig3(tolerance.relative * 100)} %"
    return f"{sign}{figure(metric, tolerance.absolute)}"


@dataclass(frozen=True)
class Comparison:
    """One metric of a run against the same metric of the baseline run."""

    metric: str
    baseline: float | None
    current: float | None
    tolerance: RegressionTolerance

    @property
    def worsened_by(self) -> float | None:
        """How much worse the current figure is (negative: better); None when either side is missing."""
        if self.baseline is None or self.current is None:
            return None
        change = self.current - self.baseline
        return change if self.tolerance.direction(self.metric) == "higher" else -change

    @property
    def regressed(self) -> bool:
        """Worse than the tolerance allows, or missing from the run while the baseline has it."""
        if self.baseline is None:
            return False  # nothing to compare against: a new metric is not a regression
        worse = self.worsened_by
        if worse is None:
            return True
        return worse > self.tolerance.allowed(self.baseline) + 1e-12

    def message(self) -> str:
        """`rto_s: 9.30 s -> 14.1 s (+51.6 %), tolerance +20 %: worse than allowed`."""
        tol = describe(self.tolerance, self.metric)
        if self.baseline is None:
            return f"{self.metric}: not in the baseline (now {figure(self.metric, self.current)}), not compared"
        if self.current is None:
            return f"{self.metric}: {figure(self.metric, self.baseline)} in the baseline, missing from this run"
        change = self.current - self.baseline
        rel = f" ({'+' if change >= 0 else ''}{sig3(change / abs(self.baseline) * 100)} %)" if self.baseline else ""
        verdict = "worse than allowed" if self.regressed else "within tolerance"
        return (f"{self.metric}: {figure(self.metric, self.baseline)} -> {figure(self.metric, self.current)}{rel}, "
                f"tolerance {tol}: {verdict}")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def compare(baseline: Mapping[str, Any], current: Mapping[str, Any],
            tolerances: Mapping[str, RegressionTolerance]) -> list[Comparison]:
    """Every metric with a tolerance, baseline against current (metrics from two `summary.json`)."""
    return [Comparison(metric, _number(baseline.get(metric)), _number(current.get(metric)), tolerance)
            for metric, tolerance in tolerances.items()]
