"""YAML → `Runbook`, or `RunbookInvalid` naming file:line, the field, what was expected and what was found.

The text is read within bounds (`chaos.safe_yaml`: a small regular file, UTF-8, bounded depth and alias
expansion, no duplicate key) and composed once: the nodes keep the marks (lines), the data is built from them;
pydantic error locations are walked back through the node tree to a line. Messages quote the runbook clipped.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from chaos import safe_yaml
from chaos.errors import InvalidInput, RunbookInvalid
from chaos.faults.base import FAULTS, Fault
from chaos.limits import MAX_FILE_BYTES, MAX_RATE, MAX_SCALE
from chaos.located import Loc, Locator, Problem, dotted
from chaos.log import get_logger
from chaos.model import runbook as m
from chaos.model.extends import WORDS, ExtendsProblems, resolve
from chaos.model.quick import apply_quick, quick_paths, quick_problems
from chaos.model.services import compose_services, unknown_services
from chaos.probes.base import PROBES, Probe
from chaos.registry import Registry
from chaos.safe_yaml import YamlProblem, clip, decode, read_bytes

MAX_PROBLEMS = 20  # listed at most: a hostile runbook can have thousands

log = get_logger(__name__)


def load_runbook(
    path: str | Path,
    *,
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
    playbooks: Collection[str] | None = None,
    quick: bool = False,
) -> m.Runbook:
    """Read a runbook file (within bounds) into a typed, checked `Runbook`; `RunbookInvalid` naming file:line.
    `quick`: its `quick:` variant (chaos.model.quick), checked as the full one; the full one when it has none."""
    path = Path(path)
    try:
        data = read_bytes(path, "runbook")  # a small regular file only: never a FIFO, a device, a huge file
    except InvalidInput as exc:
        raise RunbookInvalid(exc.what, where=exc.where, fix=exc.fix) from None
    try:
        text = decode(data)
    except YamlProblem as problem:
        raise _invalid([Problem(str(path), problem.line, "", problem.message)]) from None
    return parse_runbook(text, str(path), faults=faults, probes=probes, playbooks=playbooks, quick=quick)


def parse_runbook(
    text: str,
    source: str = "<runbook>",
    *,
    faults: Registry[type[Fault]] = FAULTS,
    probes: Registry[type[Probe]] = PROBES,
    playbooks: Collection[str] | None = None,
    quick: bool = False,
) -> m.Runbook:
    """`load_runbook` on text; `source` names it in messages (and its folder anchors `extends` and `file:` paths)."""
    if len(text) > MAX_FILE_BYTES:
        raise _invalid([Problem(source, 1, "", f"expected at most {MAX_FILE_BYTES} characters, found {len(text)}")])
    try:  # bounded: depth, values after alias expansion, duplicate keys (chaos.safe_yaml)
        root = safe_yaml.compose(text)
        merged = resolve(root, source)  # `extends`: the parents' nodes merged in, each with its file
        data = safe_yaml.construct(merged.root)
    except YamlProblem as problem:
        raise _invalid([Problem(source, problem.line, "", problem.message)]) from None
    except ExtendsProblems as exc:
        raise _invalid(exc.problems[:MAX_PROBLEMS]) from None
    locate = Locator(source, merged.root, merged.origins, merged.via)
    if not isinstance(data, dict):
        raise _invalid([locate.problem((), f"expected a mapping (metadata, steps, …), found {_found(data)}")])
    data = recorded_metric_short_forms(data)
    runbook = _checked(data, source, locate, faults, probes, playbooks)
    if not quick:
        return runbook
    if runbook.quick is None:
        log.info("runbook_has_no_quick_variant", runbook=runbook.name, source=source)
        return runbook
    try:
        variant = _checked(apply_quick(data, runbook.quick), source, locate, faults, probes, playbooks,
                           "quick variant: ")
    except RunbookInvalid as exc:  # a shortened value the full runbook's rules refuse: shown where `quick:` sets it
        raise _invalid([_at_quick(p, data, runbook.quick, locate)
                        for p in exc.problems if isinstance(p, Problem)]) from None
    return variant.model_copy(update={"metadata": variant.metadata.model_copy(
        update={"description": f"[quick variant] {variant.metadata.description}".strip()})}).from_source(source)


def recorded_metric_short_forms(data: dict[str, Any]) -> dict[str, Any]:
    """`ttr_s: {lte: 5}` in `verify` for a metric a step records (`record: ttr_s`), as `rto_s: {lte: 30}` is for
    the engine's own: rewritten to `metric: ttr_s, expect: {lte: 5}` before validation (same nodes, same lines)."""
    verify = data.get("verify")
    if not isinstance(verify, list):
        return data
    recorded = {step.get("record") for section in ("steps", "rollback") for step in (data.get(section) or [])
                if isinstance(step, dict) and isinstance(step.get("record"), str)}
    recorded |= {c.get("record") for c in verify if isinstance(c, dict) and isinstance(c.get("record"), str)}
    out = []
    for check in verify:
        if isinstance(check, dict) and not any(key in check for key in m.VERIFY_KEYS):
            named = [key for key in check if key in recorded]
            if len(named) == 1:
                key = named[0]
                check = {**{k: v for k, v in check.items() if k != key}, "metric": key, "expect": check[key]}
        out.append(check)
    return {**data, "verify": out}


def _at_quick(problem: Problem, data: Mapping[str, Any], quick: m.QuickSpec, locate: Locator) -> Problem:
    """A problem of the quick variant at the line of `quick:` that set the value, when one did."""
    for path, _ in quick_paths(quick):
        if path[0] == "steps":
            index = next((i for i, s in enumerate(data.get("steps") or [])
                          if isinstance(s, dict) and s.get("id") == path[1]), None)
            if index is None:
                continue
            variant_path = dotted(("steps", index, *path[2:]))
        else:
            variant_path = dotted(path)
        if problem.path == variant_path:
            return dataclasses.replace(locate.problem(("quick", *path), problem.message), path=problem.path)
    return problem


def _checked(data: dict[str, Any], source: str, locate: Locator, faults: Registry[type[Fault]],
             probes: Registry[type[Probe]], playbooks: Collection[str] | None, prefix: str = "") -> m.Runbook:
    """The typed runbook of `data`, every rule checked; `RunbookInvalid` with every problem (at most so many)."""
    try:
        runbook = m.Runbook.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)[:MAX_PROBLEMS]
        raise _invalid([locate.problem(err["loc"], prefix + _explain(err)) for err in errors]) from None
    runbook = _rebase_compose_file(_name_steps(runbook).from_source(source), source, locate)
    runbook, profile_problems = _resolve_profile_file(runbook, locate)
    runbook, journey_problems = _resolve_journeys_file(runbook, locate)
    semantic = itertools.islice(_semantic_problems(runbook, locate, faults, probes, playbooks), MAX_PROBLEMS)
    problems = profile_problems + journey_problems + list(semantic)
    if runbook.quick is not None:
        problems += list(quick_problems(runbook, runbook.quick, locate))
    problems += _service_problems(runbook, data, source, locate)
    if problems:
        raise _invalid([dataclasses.replace(p, message=prefix + p.message) for p in problems[:MAX_PROBLEMS]])
    return runbook


def _service_problems(runbook: m.Runbook, data: dict[str, Any], source: str, locate: Locator) -> list[Problem]:
    """The services the runbook names, against those of the compose file it names (when it names one)."""
    file = runbook.stack.compose_file if runbook.stack else None
    if not file:
        return []  # the bundled stack, or one given on the command line: checked at `plan`
    path = Path(file) if Path(file).is_absolute() else _folder_of(source) / file
    known = compose_services(path)
    if known is None:
        return []
    return [locate.problem(loc, message) for loc, _, message in unknown_services(data, known)]


def _folder_of(file: str) -> Path:
    """The folder a path written in `file` is relative to (the working directory for a runbook given as text)."""
    return Path(file).resolve().parent if Path(file).is_file() else Path.cwd().resolve()


def _rebase_compose_file(runbook: m.Runbook, source: str, locate: Locator) -> m.Runbook:
    """A relative `stack.compose_file` inherited through `extends` is relative to the parent that wrote it."""
    file = runbook.stack.compose_file
    written_in = locate.file(("stack", "compose_file"))
    if file is None or Path(file).is_absolute() or written_in == source:
        return runbook
    stack = runbook.stack.model_copy(update={"compose_file": str(_folder_of(written_in) / file)})
    return runbook.model_copy(update={"stack": stack})


def _resolve_profile_file(runbook: m.Runbook, locate: Locator) -> tuple[m.Runbook, list[Problem]]:
    """`profile: file:PATH` is relative to the folder of the runbook that writes it and stays inside it (no `..`,
    no absolute path or symbolic link out of it); the file is read and checked now (`load_profile`)."""
    from chaos.load.schedule import load_profile

    load = runbook.load
    if load is None or not load.profile or not load.profile.startswith("file:"):
        return runbook, []
    where = ("load", "profile")
    path, problem = _file_in_folder(load.profile.removeprefix("file:"), load.profile, where, "profile", locate)
    if problem is not None:
        return runbook, [problem]
    try:
        load_profile(path, duration_s=load.duration_s, max_rate=MAX_SCALE if load.scale_by else MAX_RATE)
    except InvalidInput as exc:
        return runbook, [locate.problem(where, f"{clip(exc.message, 300)}")]
    return runbook.model_copy(update={"load": load.model_copy(update={"profile": f"file:{path}"})}), []


def _file_in_folder(relative: str, written: str, where: Loc, what: str, locate: Locator) -> tuple[Path, Problem | None]:
    """A file a runbook names, relative to the folder of the runbook that writes it and inside it (no `..`, no
    absolute path or symbolic link out of it); the problem when it is outside or missing."""
    folder = _folder_of(locate.file(where))
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        return path, locate.problem(where, f"expected a {what} file inside the runbook's folder {clip(folder)}, "
                                    f"found {clip(written)} (outside it)")
    if not path.is_file():
        return path, locate.problem(where, f"expected a {what} file, found no file at {clip(str(path), 120)}")
    return path, None


def _resolve_journeys_file(runbook: m.Runbook, locate: Locator) -> tuple[m.Runbook, list[Problem]]:
    """`journeys_file` is relative to the folder of the runbook that writes it and stays inside it; the file is
    read and checked now, and the mix (`journeys`) must name journeys it declares (the ENT's without a file)."""
    from chaos.load.journey_spec import journey_names

    load = runbook.load
    path: Path | None = None
    if load is None:
        return runbook, _capacity_problems(runbook, journey_names(None), locate)
    if load.journeys_file is not None:
        path, problem = _file_in_folder(load.journeys_file, load.journeys_file, ("load", "journeys_file"),
                                        "journeys", locate)
        if problem is not None:
            return runbook, [problem]
    try:
        names = journey_names(path)
    except InvalidInput as exc:
        where_in = str(exc.where or "").removeprefix(f"{path.parent}/" if path else "")
        return runbook, [locate.problem(("load", "journeys_file"), f"a valid journeys file, found problems at "
                                        f"{where_in}: {clip(exc.what, 300)}")]
    problems = _capacity_problems(runbook, names, locate)
    if problems:
        return runbook, problems
    unknown = sorted(set(load.journeys) - set(names))
    if unknown:
        whose = "the journeys file's" if path else "the ENT's (a `journeys_file` declares your own)"
        return runbook, [locate.problem(("load", "journeys"), f"expected journeys among {', '.join(names)}: "
                                        f"{whose}, found unknown: {clip(', '.join(unknown))}")]
    if path is None:
        return runbook, []
    return runbook.model_copy(update={"load": load.model_copy(update={"journeys_file": str(path)})}), []


def _capacity_problems(runbook: m.Runbook, names: list[str], locate: Locator) -> list[Problem]:
    return [locate.problem(loc, f"expected journeys among {', '.join(names)} (the runbook's), found unknown: "
                           f"{clip(', '.join(sorted(set(mix) - set(names))))}")
            for loc, mix in _capacity_mixes(runbook) if set(mix) - set(names)]


def _capacity_mixes(runbook: m.Runbook) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """The `journeys` of every capacity probe (a ramp plays the runbook's journeys), with where each is written."""
    calls: list[tuple[Loc, str, dict[str, Any]]] = []
    for i, step in enumerate(runbook.steps):
        if isinstance(step, m.WaitForStep):
            calls.append((("steps", i, "params"), step.wait_for, step.params))
        elif isinstance(step, m.ProbeStep):
            calls.append((("steps", i, "params"), step.probe, step.params))
    for i, call in enumerate(runbook.hypothesis.probes if runbook.hypothesis else []):
        calls.append((("hypothesis", "probes", i, "params"), call.probe, call.params))
    for loc, name, params in calls:
        if name == "capacity" and isinstance(params.get("journeys"), dict):
            yield (*loc, "journeys"), params["journeys"]


def _invalid(problems: Sequence[Problem]) -> RunbookInvalid:
    first = problems[0]
    if len(problems) == 1:
        return RunbookInvalid(f"{first.path or '<top>'}: {first.message}{first.extended_by()}",
                              where=f"{first.file}:{first.line}", problems=problems)
    listing = "\n  ".join(str(p) for p in problems)
    return RunbookInvalid(f"{len(problems)} problems in the runbook:\n  {listing}", fix="nothing was run",
                          problems=problems)


def _found(value: Any) -> str:
    kind = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "nothing"}.get(type(value), type(value).__name__)
    shown = repr(clip(value)) if isinstance(value, str) else clip(value)  # cut before formatting: no bomb
    return f"{kind} {shown}" if value is not None else kind


def _vocabulary() -> list[str]:
    words: set[str] = set(WORDS)
    for obj in vars(m).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel):
            for name, info in obj.model_fields.items():
                words.add(info.alias or name)
    return sorted(words)


def _explain(err: Any) -> str:
    kind, loc, found = err["type"], err["loc"], err.get("input")
    field = next((p for p in reversed(loc) if isinstance(p, str) and not p.startswith("<")), "")
    if kind == "missing":
        keys = ", ".join(map(str, found)) if isinstance(found, dict) else _found(found)
        return f"expected the field `{field}`, found it missing (present: {keys})"
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(field), _vocabulary(), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close and close[0] != field else ""
        return f"expected no field `{field}` here, found it: unknown field{hint}"
    msg = str(err["msg"])
    for prefix in ("Input should be ", "Value error, ", "String should have ", "String should "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return f"expected {msg}, found {_found(found)}"


# ---- checks pydantic cannot make alone -------------------------------------------------------------------------


def _name_steps(runbook: m.Runbook) -> m.Runbook:
    """Steps without an id get `<kind>-<n>` (rollback: `rollback-<kind>-<n>`), so every event can name its step."""

    def named(steps: list[Any], prefix: str) -> list[Any]:
        return [s if s.id else s.model_copy(update={"id": f"{prefix}{s.kind}-{i + 1}"}) for i, s in enumerate(steps)]

    steps, rollback = named(runbook.steps, ""), named(runbook.rollback, "rollback-")
    return runbook.model_copy(update={"steps": steps, "rollback": rollback})


def _semantic_problems(
    runbook: m.Runbook,
    locate: Locator,
    faults: Registry[type[Fault]],
    probes: Registry[type[Probe]],
    playbooks: Collection[str] | None,
) -> Iterator[Problem]:
    ids: dict[str, Loc] = {}
    for section in ("steps", "rollback"):
        for i, step in enumerate(getattr(runbook, section)):
            if step.id in ids:
                yield locate.problem((section, i, "id"), f"expected a unique step id, found `{step.id}` twice")
            ids.setdefault(step.step_id, (section, i))
    order = [s.step_id for s in runbook.steps]
    seen = set(ids)  # a surprise may never happen: no step or window refers to one, but its id is its own
    for i, surprise in enumerate(runbook.surprises):  # the same fault checks as a step's
        at: Loc = ("gameday", "surprises", i)
        if surprise.step_id in seen:
            yield locate.problem((*at, "id"), f"expected an id of its own (steps and surprises), found "
                                 f"`{surprise.id}` twice")
        seen.add(surprise.step_id)
        yield from _fault_problems(surprise, at, locate, faults, ids, order)

    for section in ("steps", "rollback"):
        for i, step in enumerate(getattr(runbook, section)):
            loc: Loc = (section, i)
            if isinstance(step, m.FaultStep):
                yield from _fault_problems(step, loc, locate, faults, ids, order)
            elif isinstance(step, m.WaitForStep):
                yield from _probe_problems(step.wait_for, step.params, (*loc, "wait-for"), locate, probes)
                if step.since and step.since not in ids:
                    yield locate.problem((*loc, "since"), f"expected a step id, found `{step.since}` (no such step)")
            elif isinstance(step, m.ProbeStep):
                yield from _probe_problems(step.probe, step.params, (*loc, "probe"), locate, probes)
            elif isinstance(step, m.RevertStep):
                yield from _revert_problems(runbook, step, loc, locate, faults, order)
            elif isinstance(step, m.PlaybookStep) and playbooks is not None:
                yield from _playbook_problems(step, loc, locate, playbooks)
            elif isinstance(step, m.ManualStep) and step.role is not None:
                roles = runbook.gameday.roles if runbook.gameday else []
                if step.role not in roles:
                    yield locate.problem((*loc, "role"), f"expected a role of `gameday.roles` "
                                         f"({', '.join(roles) or 'none declared'}), found `{step.role}`")

    fault_ids = {s.step_id for s in runbook.steps if isinstance(s, m.FaultStep)}
    if runbook.load is not None and runbook.load.start_after is not None:
        yield from _deferred_load_problems(runbook, runbook.load, locate, order)
    if runbook.hypothesis:
        for i, call in enumerate(runbook.hypothesis.probes):
            yield from _probe_problems(call.probe, call.params, ("hypothesis", "probes", i, "probe"), locate, probes)
    for i, check in enumerate(runbook.verify):
        if isinstance(check, m.ProbeCheck):
            yield from _probe_problems(check.probe, check.params, ("verify", i, "probe"), locate, probes)
        elif isinstance(check, m.AvailabilityCheck | m.LatencyCheck):
            kind, _, step_ref = check.window.partition(":")
            if step_ref and step_ref not in ids:
                yield locate.problem(("verify", i, "window"), f"expected a step id after `:`, found `{step_ref}`")
            elif kind == "impact" and step_ref not in fault_ids:
                yield locate.problem(("verify", i, "window"),
                                     f"expected a fault step after `impact:`, found `{step_ref}` (not a fault)")
            if (isinstance(check, m.LatencyCheck) and check.latency.max_ratio_to_baseline is not None
                    and not _has_baseline(runbook)):
                yield locate.problem(("verify", i, "latency", "max_ratio_to_baseline"),
                                     "expected a measured baseline: a `hypothesis` with `baseline_s` > 0 and a load "
                                     "that starts with the run (no `start_after`)")
            if runbook.load is None:
                yield locate.problem(("verify", i), "expected a `load` section: this check reads the load statistics")
    for i, stop in enumerate(runbook.stop_conditions):
        yield from _probe_problems(stop.probe, stop.params, ("stop_conditions", i, "probe"), locate, probes)


def _playbook_problems(
    step: m.PlaybookStep, loc: Loc, locate: Locator, playbooks: Collection[str]
) -> Iterable[Problem]:
    """The playbook exists, and its `extravars` fit its parameter model (`chaos.remediation.params`)."""
    from chaos.remediation.params import PLAYBOOKS, reserved

    if step.playbook not in playbooks:
        close = difflib.get_close_matches(step.playbook, list(playbooks), n=1)
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        yield locate.problem((*loc, "playbook"), f"expected a playbook of {', '.join(sorted(playbooks))}, "
                             f"found `{step.playbook}`{hint}")
        return
    models = playbooks if isinstance(playbooks, Mapping) else {n: PLAYBOOKS.get(n) for n in PLAYBOOKS.names()}
    if step.playbook not in models:
        yield locate.problem((*loc, "playbook"), f"expected a playbook with a parameter model, found `{step.playbook}`"
                             " (none registered in chaos.remediation.params)")
        return
    where = (*loc, "extravars")
    for key in step.extravars:
        if reserved(str(key)):
            yield locate.problem((*where, key), f"expected no field `{key}` here, found it: reserved, computed by the "
                                 "toolkit from the labelled stack")
    rest = {k: v for k, v in step.extravars.items() if not reserved(str(k))}
    yield from _params_problems(models[step.playbook], rest, where, locate)


def _has_baseline(runbook: m.Runbook) -> bool:
    return (runbook.hypothesis is not None and runbook.hypothesis.baseline_s > 0 and runbook.load is not None
            and runbook.load.start_after is None)


def _fault_problems(
    step: m.FaultStep, loc: Loc, locate: Locator, faults: Registry[type[Fault]], ids: dict[str, Loc], order: list[str]
) -> Iterable[Problem]:
    if step.fault not in faults:
        yield locate.problem((*loc, "fault"), f"expected a known fault, found: {faults.unknown_message(step.fault)}")
        return
    cls = faults.get(step.fault)
    yield from _params_problems(cls.Params, step.params, (*loc, "params"), locate)
    if step.reverted_by is not None:
        yield from _repair_problems(step, loc, locate, list(ids), order)
    elif cls.destructive and step.duration_s is None:
        yield locate.problem(
            (*loc, "fault"),
            f"expected `reverted_by: <step id>`: `{step.fault}` is destructive (nothing comes back by itself), "
            "found no step named to rebuild",
        )


def _repair_problems(step: m.FaultStep, loc: Loc, locate: Locator, ids: list[str], order: list[str]
                     ) -> Iterable[Problem]:
    """Each step of `reverted_by` exists and comes after the fault; those in `steps` are listed in their order (a
    repair step in `rollback` runs only when rolling back, in the list's order)."""
    listed = isinstance(step.reverted_by, list)
    seen: list[str] = []
    for j, repair in enumerate(step.repair_steps):
        where: Loc = (*loc, "reverted_by", j) if listed else (*loc, "reverted_by")
        if repair not in ids:
            yield locate.problem(where, f"expected a step id, found `{repair}` (no such step)")
        elif repair in seen:
            yield locate.problem(where, f"expected each repair step once, found `{repair}` twice")
        elif repair in order and order.index(repair) <= order.index(step.step_id):
            yield locate.problem(where, f"expected a later step, found `{repair}` before it")
        elif repair in order and order.index(repair) < max((order.index(s) for s in seen if s in order), default=-1):
            yield locate.problem(where, f"expected the repair steps in the order they run, found `{repair}` listed "
                                 "after a step that comes later")
        seen.append(repair)


def _deferred_load_problems(
    runbook: m.Runbook, load: m.LoadSpec, locate: Locator, order: list[str]
) -> Iterable[Problem]:
    if load.start_after not in order:
        yield locate.problem(("load", "start_after"), f"expected the id of a step, found `{load.start_after}`")
        return
    if load.scale_by is None:
        return
    before = runbook.steps[: order.index(load.start_after) + 1]
    recorded = [str(r) for r in (getattr(s, "record", None) for s in before) if r]
    if load.scale_by not in recorded:
        found = ", ".join(f"`{r}`" for r in recorded) or "none"
        yield locate.problem(("load", "scale_by"), f"expected a metric recorded by `{load.start_after}` or a step "
                             f"before it, found `{load.scale_by}` (recorded by then: {found})")


def _revert_problems(
    runbook: m.Runbook, step: m.RevertStep, loc: Loc, locate: Locator, faults: Registry[type[Fault]], order: list[str]
) -> Iterable[Problem]:
    fault = next((s for s in runbook.steps if s.step_id == step.revert), None)
    where = (*loc, "revert")
    if not isinstance(fault, m.FaultStep):
        found = f"`{step.revert}` ({fault.kind} step)" if fault is not None else f"`{step.revert}` (no such step)"
        yield locate.problem(where, f"expected the id of a fault step, found {found}")
    elif loc[0] == "steps" and order.index(step.revert) >= order.index(step.step_id):
        yield locate.problem(where, f"expected an earlier fault step, found `{step.revert}` after this one")
    elif fault.duration_s is not None or fault.reverted_by is not None:
        held = fault.duration_s is None
        how = f"reverted_by: {', '.join(fault.repair_steps)}" if held else f"duration_s: {fault.duration_s:g}"
        yield locate.problem(where, f"expected a fault held until reverted, found `{step.revert}` with `{how}`: "
                             "remove one of the two")
    elif fault.fault in faults and faults.get(fault.fault).destructive:
        yield locate.problem(where, f"expected a fault that can be reverted, found `{fault.fault}` (destructive: "
                             "name its rebuild step with `reverted_by`)")


def _probe_problems(
    name: str, params: dict[str, Any], loc: Loc, locate: Locator, probes: Registry[type[Probe]]
) -> Iterable[Problem]:
    if name not in probes:
        yield locate.problem(loc, f"expected a known probe, found: {probes.unknown_message(name)}")
        return
    yield from _params_problems(probes.get(name).Params, params, (*loc[:-1], "params"), locate)


def _params_problems(schema: type[BaseModel], params: dict[str, Any], loc: Loc, locate: Locator) -> Iterable[Problem]:
    try:
        schema.model_validate(params)
    except ValidationError as exc:
        for err in exc.errors():
            yield locate.problem((*loc, *err["loc"]), _explain(err))
