"""`quick:` the runbook's own variant for a CI gate (`entchaos run --quick`, `entchaos gate --quick`).

Shorter phases, the same checks: a quick section may only shorten durations (the load's, the hypothesis'
warm-up, settle, baseline and hold, a step's timeout or duration, a step's `*_s` parameter such as a flood's
`for_s`), each to at most its full value. It cannot touch a bound (`expect`, `until`, `verify`, `regression`,
stop conditions), a target, a fault or a probe: the quick variant is checked exactly as the full runbook is.

    quick:
      hypothesis: {warmup_s: 10, settle_s: 10}
      steps:
        flood: {params: {for_s: 25}}
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from chaos.located import Locator, Problem
from chaos.model.runbook import QuickSpec, Runbook

HYPOTHESIS_PHASES = ("warmup_s", "settle_s", "baseline_s", "hold_s")


def _full_value(runbook: Runbook, path: tuple[str, ...]) -> Any:
    """The full runbook's value at a quick path (None when it has none)."""
    section, *rest = path
    if section == "load":
        return runbook.load.duration_s if runbook.load else None
    if section == "hypothesis":
        return getattr(runbook.hypothesis, rest[0]) if runbook.hypothesis else None
    step = runbook.step(rest[0])
    if rest[1] == "params":
        return getattr(step, "params", {}).get(rest[2])
    return getattr(step, rest[1], None)


def quick_paths(quick: QuickSpec) -> Iterator[tuple[tuple[str, ...], float]]:
    for load_key, seconds in quick.load.items():
        yield ("load", load_key), seconds
    for phase, seconds in quick.hypothesis.items():
        yield ("hypothesis", phase), seconds
    for step_id, step in quick.steps.items():
        for field in ("timeout_s", "duration_s"):
            if (own := getattr(step, field)) is not None:
                yield ("steps", step_id, field), own
        for param, seconds in step.params.items():
            yield ("steps", step_id, "params", param), seconds

def quick_problems(runbook: Runbook, quick: QuickSpec, locate: Locator) -> Iterator[Problem]:
    """Each shortening names what exists in the full runbook, a duration, and is no longer than it."""
    ids = {s.id for s in [*runbook.steps, *runbook.rollback] if s.id}  # written ids: the variant is made on data
    for path, value in quick_paths(quick):
        loc = ("quick", *path)
        if path[0] == "steps" and path[1] not in ids:
            yield locate.problem(loc[:3], f"expected the `id` of a step of this runbook, found `{path[1]}`")
            continue
        if path[0] == "steps" and path[2] == "params" and not path[3].endswith("_s"):
            yield locate.problem(loc, f"expected a duration parameter (its name ends in `_s`), found `{path[3]}`: "
                                 "the quick variant shortens phases, it changes nothing else")
            continue
        full = _full_value(runbook, path)
        if not isinstance(full, int | float) or isinstance(full, bool):
            yield locate.problem(loc, "expected a duration the full runbook sets, found none to shorten "
                                 f"(`{'.'.join(path)}` is not in the runbook)")
        elif value > full:
            yield locate.problem(loc, f"expected at most the full runbook's {full:g} s (a quick variant only "
                                 f"shortens), found {value:g} s")


def apply_quick(data: Mapping[str, Any], quick: QuickSpec) -> dict[str, Any]:
    """The runbook's data with the quick durations in place and without its `quick:` section."""
    out = copy.deepcopy(dict(data))
    out.pop("quick", None)
    for path, value in quick_paths(quick):
        if path[0] in ("load", "hypothesis"):
            out[path[0]][path[1]] = value
            continue
        for section in ("steps", "rollback"):
            for step in out.get(section) or []:
                if isinstance(step, dict) and step.get("id") == path[1]:
                    if path[2] == "params":
                        step.setdefault("params", {})[path[3]] = value
                    else:
                        step[path[2]] = value
    return out
