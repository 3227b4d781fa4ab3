"""The bounds every number a runbook (or a profile file) gives must respect, and the typed fields that carry them.

A runbook is data written by others: each number is a real number of the right kind (`true` is not 1 s, `5.5`
is not an integer), finite, and within a bound a machine can honour. The bound is in the error message
(pydantic's "less than or equal to 86400"). Import-light: no package of the toolkit is imported here.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import AfterValidator, Field

# ---- the bounds ------------------------------------------------------------------------------------------------

MAX_DURATION_S = 86_400.0  # a day: any wait, hold, timeout or length of load in a runbook
MIN_INTERVAL_S = 0.01  # between two polls: below that a poll loop is a busy loop
MAX_RATE = 50_000.0  # requests (or journeys) per second one load generator is asked for: ours sustains 67-88 k/s
#                      on one core against a trivial server (README, bench), so 50 k/s is sendable
MAX_SCALE = 1_000.0  # a profile in multiples of a measured metric (`scale_by`): at most 1000x it
MAX_CONNECTIONS = 20_000  # open connections one client process holds
MAX_COUNT = 10_000  # any other count (containers, requests in a window)
MAX_MS = 600_000.0  # a latency or delay in milliseconds (10 min)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # step ids, metric names, labels
MAX_NAME = 64  # characters in such a name

# Files a runbook names: read whole only when they are small regular files.
MAX_FILE_BYTES = 1 << 20  # 1 MiB: a runbook or a profile (the shipped ones are under 10 KiB)
MAX_DEPTH = 32  # nesting of mappings and lists in one YAML document (the shipped runbooks: 6)
MAX_NODES = 20_000  # YAML nodes once every alias is expanded (the shipped runbooks: under 600)


def seconds(default: Any = ..., *, gt: float | None = None, ge: float | None = None, le: float = MAX_DURATION_S,
            description: str | None = None) -> Any:
    """A duration in seconds: a number (not a boolean, not a string), finite, within [ge|gt, le]."""
    return Field(default, gt=gt, ge=ge, le=le, strict=True, allow_inf_nan=False, description=description)


def number(default: Any = ..., *, gt: float | None = None, ge: float | None = None, le: float,
           description: str | None = None) -> Any:
    """Any other real number (a rate, a ratio, milliseconds): strict, finite, bounded."""
    return Field(default, gt=gt, ge=ge, le=le, strict=True, allow_inf_nan=False, description=description)


def integer(default: Any = ..., *, ge: int | None = None, gt: int | None = None, le: int = MAX_COUNT,
            description: str | None = None) -> Any:
    """An integer: `5.0`, `5.5` and `true` are refused (never truncated), bounded."""
    return Field(default, ge=ge, gt=gt, le=le, strict=True, description=description)


Seconds = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_DURATION_S)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_NAME)]


def _cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(f"a network in CIDR form, e.g. 10.99.0.0/16 ({exc})") from None


Cidr = Annotated[str, Field(max_length=64), AfterValidator(_cidr)]
