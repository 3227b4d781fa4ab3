"""How much worse a figure may get than the baseline's before the CI gate fails (`regression:` in a runbook).

A percentage of the baseline's value (`rto_s: 20%`) or an absolute amount in the metric's unit
(`lost_acked_writes: 0`). Which way is worse comes from the metric's name (`availability`, `goodput`, `rps`,
`capacity`, ... are better higher; times, latencies, counts of failures and losses are better lower) or is said
explicitly (`{by: 5%, worse: lower}`). Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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
class RegressionTolerance:
    """How much worse a metric may get: `relative` (0.2 for 20 % of the baseline) or `absolute` (in its unit)."""

    relative: float | None = None
    absolute: float | None = None
    worse: Worse | None = None  # None: from the metric's name

    def __post_init__(self) -> None:
        if (self.relative is None) == (self.absolute is None):
            raise ValueError("a tolerance is either a percentage or an absolute amount")
        amount = self.relative if self.relative is not None else self.absolute
        if amount is None or not math.isfinite(amount) or amount < 0:
            raise ValueError(f"a finite amount >= 0 ({amount} given)")

    def allowed(self, baseline: float) -> float:
        """The largest change in the worse direction that still passes."""
        if self.relative is not None:
            return abs(baseline) * self.relative
        return self.absolute or 0.0

    def to_spec(self) -> str | float | dict[str, Any]:
        """The runbook's own words for it (`"20%"`, `0.0`, `{by: "5%", worse: lower}`): what summary.json keeps."""
        by: str | float = f"{self.relative * 100:g}%" if self.relative is not None else (self.absolute or 0.0)
        return {"by": by, "worse": self.worse} if self.worse else by

    def direction(self, metric: str) -> Worse:
        return self.worse or worse_direction(metric)


def parse_tolerance(value: Any) -> RegressionTolerance:
    """`"20%"`, a number (absolute, in the metric's unit), or `{by: "20%"|number, worse: higher|lower}`.

    Raises ValueError naming what is expected: the runbook loader turns it into a file:line error.
    """
    worse: Worse | None = None
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"by", "worse"})
        if extra or "by" not in value:
            raise ValueError(f"`{{by: <percent or amount>, worse: higher|lower}}` (keys {sorted(value)} given)")
        if value.get("worse") not in (None, "higher", "lower"):
            raise ValueError(f"`worse: higher` or `worse: lower` ({value.get('worse')!r} given)")
        worse = value.get("worse")
        value = value["by"]
    if isinstance(value, bool):
        raise ValueError("a percentage (`20%`) or an amount (`0`, `1.5`)")
    if isinstance(value, int | float):
        return RegressionTolerance(absolute=float(value), worse=worse)
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return RegressionTolerance(relative=float(match.group(1)) / 100, worse=worse)
    raise ValueError("a percentage (`20%`) or an amount (`0`, `1.5`)")


def tolerance_field(value: Any) -> RegressionTolerance:
    """For a parameter model: a RegressionTolerance as given, or parsed from the runbook's words."""
    return value if isinstance(value, RegressionTolerance) else parse_tolerance(value)
