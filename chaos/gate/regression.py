"""Regression against a baseline: a figure that got worse than last time by more than its declared tolerance.

A runbook declares, per metric, how much worse a figure may get (`regression: {rto_s: 20%, lost_acked_writes: 0}`):
a percentage of the baseline's value, or an absolute amount in the metric's unit. Which way is worse comes from
the metric's name (`availability`, `goodput`, `rps`, `capacity`, ... are better higher; times, latencies, counts of
failures and losses are better lower) or is said explicitly (`{worse: lower, by: 5%}`). Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from chaos.report.figures import figure, sig3

Worse = Literal["higher", "lower"]

# Metric names whose figure is better when it is higher: everything else is better lower (times, latencies,
# failures, losses, ratios to the baseline).
_BETTER_HIGHER = re.compile(r"(^|_)(availability|goodput|rps|capacity|served|refused_ratio|throughput)(_|$)")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def worse_direction(metric: str) -> Worse:
    """Which way a metric gets worse, from its name (`impact_availability` worse lower, `rto_s` worse higher)."""
    base = metric.rsplit(".", 1)[-1]
    if base.endswith("_ratio_to_baseline") or re.search(r"p\d+(_\d+)?_ratio$", base):
        return "higher"
    return "lower" if _BETTER_HIGHER.search(base) else "higher"


@dataclass(frozen=True)
class Tolerance:
    """How much worse a metric may get: `relative` (0.2 for 20 % of the baseline) or `absolute` (in its unit)."""

    relative: float | None = None
    absolute: float | None = None
    worse: Worse | None = None  # None: from the metric's name

    def __post_init__(self) -> None:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("a tolerance is either a percentage or an absolute amount")
        amount = self.relative if self.relative is not None else self.absolute
        if amount is None or not math.isfinite(amount) or amount < 0:
            raise ValueError(f"a tolerance must be a finite amount >= 0, found {amount}")

    def allowed(self, baseline: float) -> float:
        """The largest change in the worse direction that still passes."""
        if self.relative is not None:
            return abs(baseline) * self.relative
        return self.absolute or 0.0

    def describe(self, metric: str) -> str:
        sign = "+" if self.direction(metric) == "higher" else "-"
        if self.relative is not None:
            return f"{sign}{sig3(self.relative * 100)} %"
        return f"{sign}{figure(metric, self.absolute)}"

    def direction(self, metric: str) -> Worse:
        return self.worse or worse_direction(metric)


def parse_tolerance(value: Any) -> Tolerance:
    """`"20%"`, a number (absolute, in the metric's unit), or `{by: "20%"|number, worse: higher|lower}`.

    Raises ValueError saying what was expected: the runbook loader turns it into a file:line error.
    """
    worse: Worse | None = None
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"by", "worse"})
        if extra or "by" not in value:
            raise ValueError(f"expected `{{by: <percent or amount>, worse: higher|lower}}`, found keys {sorted(value)}")
        if value.get("worse") not in (None, "higher", "lower"):
            raise ValueError(f"expected `worse: higher` or `worse: lower`, found {value.get('worse')!r}")
        worse = value.get("worse")
        value = value["by"]
    if isinstance(value, bool):
        raise ValueError(f"expected a percentage (`20%`) or an amount (`0`, `1.5`), found {value!r}")
    if isinstance(value, int | float):
        return Tolerance(absolute=float(value), worse=worse)
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return Tolerance(relative=float(match.group(1)) / 100, worse=worse)
    raise ValueError(f"expected a percentage (`20%`) or an amount (`0`, `1.5`), found {value!r}")


@dataclass(frozen=True)
class Comparison:
    """One metric of a run against the same metric of the baseline run."""

    metric: str
    baseline: float | None
    current: float | None
    tolerance: Tolerance

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
        tol = self.tolerance.describe(self.metric)
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
            tolerances: Mapping[str, Tolerance]) -> list[Comparison]:
    """Every metric with a tolerance, baseline against current (metrics from two `summary.json`)."""
    return [Comparison(metric, _number(baseline.get(metric)), _number(current.get(metric)), tolerance)
            for metric, tolerance in tolerances.items()]
