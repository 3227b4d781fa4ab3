"""Numbers as people read them: 3 significant figures with the unit the metric's name carries.

One place decides how a figure is written, so report.html, summary.md, junit.xml and the console agree.
A metric's name carries its unit (DESIGN.md): `_s` seconds, `_ms` milliseconds, `_rps` requests per second;
`availability`, `*_availability` and `*_ratio` are ratios written as %; `*_ratio_to_baseline` and the p95 ratio
after recovery are multiples (1.21 times: written with a multiplication sign); counts are integers.
A step id may prefix the name (`fire.outage_s`).
summary.json keeps every figure at full precision: only what people read is rounded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

MISSING = "—"
TIMES = "\u00d7"  # the multiplication sign: 1.21 times the baseline

_TIMES = re.compile(r"p\d+(_\d+)?_ratio$")  # recovered_p95_ratio: a latency divided by the baseline's
_COUNTS = ("lost_acked_writes", "failed_requests", "failed_journeys", "requests", "sent", "journeys")
_COUNT_SUFFIXES = ("_writes", "_requests", "_journeys", "_logins", "_count", "_connections", "_clients")


def unit_of(name: str | None) -> str:
    """The unit a metric's name carries: `s`, `ms`, `%`, `req/s`, TIMES (a multiple), `count` or '' (a plain number)."""
    if not name:
        return ""
    base = name.rsplit(".", 1)[-1].lower()  # `fire.outage_s` -> `outage_s`
    if base.endswith("_ratio_to_baseline") or _TIMES.search(base) or base.endswith("_factor"):
        return TIMES
    if base.endswith("_ratio") or base == "availability" or base.startswith("availability_") \
            or base.endswith("_availability"):
        return "%"
    if base.endswith("_ms"):
        return "ms"
    if base.endswith("_rps"):
        return "req/s"
    if base.endswith("_s"):
        return "s"
    if base in _COUNTS or base.endswith(_COUNT_SUFFIXES) or base.startswith(("lost_", "failed_")):
        return "count"
    return ""


def sig3(value: float, digits: int = 3) -> str:
    """`value` to `digits` significant figures, never in exponent notation: 1543.2 -> '1540', 11.96 -> '12.0'."""
    if value == 0:
        return "0"
    rounded = round(value, digits - 1 - math.floor(math.log10(abs(value))))
    if rounded == 0:
        return "0"
    decimals = digits - 1 - math.floor(math.log10(abs(rounded)))  # again: 9.996 rounds up to 10.0
    if decimals <= 0:
        return str(round(rounded))
    return f"{rounded:.{decimals}f}"


def compact(value: float) -> str:
    """An axis tick: 3 significant figures without trailing zeros (10, 2.5, 0.1)."""
    text = sig3(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(ratio: float) -> str:
    pct = ratio * 100
    text = sig3(pct)
    if text == "100" and ratio < 1:  # 99.96 % is not 100 %: a failure must not round away
        text = f"{pct:.2f}"
        if text == "100.00":
            return "> 99.99 %"
    return f"{text} %"


def number(value: Any, unit: str = "") -> str:
    """A value with a unit from `unit_of`; integers stay integers, None is '—'."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {number(v, unit)}" for k, v in value.items()) or MISSING
    if isinstance(value, list | tuple):
        return ", ".join(number(v, unit) for v in value) or MISSING
    if not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    if unit == "%":
        return _percent(value)
    if unit == "count" or (unit == "" and isinstance(value, int)):
        return str(round(value)) if float(value).is_integer() or unit == "count" else sig3(value)
    text = str(value) if isinstance(value, int) else sig3(value)
    if unit == TIMES:
        return f"{text}{TIMES}"
    return f"{text} {unit}" if unit else text


def figure(name: str | None, value: Any) -> str:
    """A metric as people read it: `figure("availability", 0.9180035650623886)` -> '91.8 %'."""
    return number(value, unit_of(name))


def seconds(value: float | None) -> str:
    """A time in seconds (a moment since the run started, or a duration)."""
    return number(value, "s")


_LONG = re.compile(r"(?<![\w.:])-?\d+\.\d{4,}(?![\w.])")


def tidy(text: str | None) -> str:
    """Free text written by the engine (a verdict's reason, a check's message) with any long number in it rounded
    to 3 significant figures: 'observed 0.9180035650623886' -> 'observed 0.918'."""
    return _LONG.sub(lambda m: sig3(float(m.group(0))), text or "")


def moment(iso: str | None) -> str:
    """An ISO timestamp as people read it, to the second: `2026-04-06 09:02:00 UTC`."""
    if not iso:
        return MISSING
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return t.strftime("%Y-%m-%d %H:%M:%S") + (" UTC" if t.utcoffset() is not None and not t.utcoffset() else "")


def observed(check: Mapping[str, Any]) -> str:
    """A check's observed value: in its metric's unit when the check names one, else 3 significant figures."""
    return figure(check.get("metric"), check.get("observed"))


def evidence(data: Any, limit: int = 160) -> str:
    """A fault's effect evidence in one short line: `state: paused; connect_ms: 3.00 ms; ...`."""
    if data is None:
        return MISSING
    if isinstance(data, Mapping):
        parts = []
        for key, value in data.items():
            if isinstance(value, Mapping):
                text = ", ".join(f"{k} {figure(str(k), v)}" for k, v in value.items())
            elif isinstance(value, list | tuple) and value and isinstance(value[0], Mapping):
                text = "; ".join(evidence(v, limit) for v in value)
            else:
                text = figure(str(key), value)
            parts.append(f"{key}: {text}")
        text = "; ".join(parts) or MISSING
    else:
        text = number(data)
    return text if len(text) <= limit else text[: limit - 1] + "…"
