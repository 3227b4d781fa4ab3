"""Journeys declared in YAML: the schema, and its checks at load time (every problem at file:line).

A journeys file is data, like a runbook: requests with `${name}` placeholders filled from a closed set of value
generators (`vars`) or from values extracted from earlier answers (`extract`). Nothing is evaluated: a placeholder
is replaced by a value, never interpreted, and every name it uses is checked when the file is loaded.

    journeys:
      browse:
        weight: 3
        vars: {item: {random_int: {min: 1, max: 500}}}
        steps:
          - {name: home, method: GET, path: /}
          - {name: item, method: GET, path: "/items/${item}", expect: [200]}
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from chaos import safe_yaml
from chaos.errors import InvalidInput
from chaos.located import Locator, Problem
from chaos.safe_yaml import YamlProblem, clip

ENT_JOURNEYS = Path(__file__).with_name("ent_journeys.yaml")
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
MAX_STEPS = 50
MAX_JOURNEYS = 50
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Text = Annotated[str, StringConstraints(max_length=4096)]
HeaderName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,64}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class IntRange(_Strict):
    min: int = Field(ge=-(10**12), le=10**12)
    max: int = Field(ge=-(10**12), le=10**12)
    pad: int = Field(0, ge=0, le=20, description="zero-padded to this many digits (a string then)")

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) <= max ({self.max})")
        return self


class DateOffset(_Strict):
    days_from_today: int = Field(0, ge=-36500, le=36500)


class Var(_Strict):
    """A value drawn once per journey start: exactly one kind."""

    random_int: IntRange | None = None
    uuid4: Literal[True] | None = None
    date: DateOffset | None = None
    choice: list[Annotated[str | int | float | bool, Field()]] | None = Field(None, min_length=1, max_length=1000)
    value: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Var:
        given = [k for k in ("random_int", "uuid4", "date", "choice", "value") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of random_int, uuid4, date, choice, value"
                             + (f" (found {', '.join(given)})" if given else ""))
        return self


class Extract(_Strict):
    """A value taken from a step's answer: a dotted JSON path (`user.class_id`, `*.id`), a header, or a regex."""

    json_path: Text | None = Field(None, alias="json")
    header: HeaderName | None = None
    regex: Annotated[str, StringConstraints(max_length=256)] | None = None
    pick: Literal["first", "random"] = "first"
    default: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Extract:
        given = [k for k in ("json_path", "header", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("exactly one of json, header, regex")
        if self.regex is not None:
            try:
                compiled = re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"a valid regular expression ({exc})") from None
            if compiled.groups > 1:
                raise ValueError("a regex with at most one group (the value extracted)")
        return self


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


class StepSpec(_Strict):
    """One request of a journey, what counts as its success, and what it hands on."""

    name: Name
    method: Method = "GET"
    path: Annotated[str, StringConstraints(pattern=r"^/", max_length=2048)]
    headers: dict[HeaderName, Text] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")
    form: dict[Name, Text] | None = None
    expect: list[Annotated[int, Field(ge=100, le=599)]] | None = Field(
        None, description="statuses that count as success (default: any 2xx/3xx served by the app)")
    write: bool = Field(False, description="needs the app itself: a fallback page does not serve it")
    ledger_key: Text | None = Field(None, description="an acknowledged write, recorded in the ledger by this key")
    think_s: float | None = Field(None, ge=0, le=600, description="wait after this answer (default: the run's)")
    extract: dict[Name, Extract] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _body(self) -> StepSpec:
        if self.json_body is not None and self.form is not None:
            raise ValueError("one body: `json` or `form`, not both")
        if self.ledger_key is not None and self.method in ("GET", "HEAD"):
            raise ValueError("`ledger_key` on a request that writes (POST, PUT, PATCH, DELETE)")
        return self

    @property
    def writes(self) -> bool:
        return self.write or self.ledger_key is not None

    def templates(self) -> list[str]:
        """Every string of the request that may hold placeholders."""
        out = [self.path, *self.headers.values(), *(self.form or {}).values()]
        out += list(_strings(self.json_body))
        if self.ledger_key is not None:
            out.append(self.ledger_key)
        return out


class JourneySpec(_Strict):
    """A user journey: values drawn at its start, headers for every request, its steps in order."""

    weight: float = Field(1.0, ge=0, le=1e6, description="its share when the mix names no weights")
    vars: dict[Name, Var] = Field(default_factory=dict)
    headers: dict[HeaderName, Text] = Field(
        default_factory=dict, description="sent with every request once every value they name is known")
    steps: list[StepSpec] = Field(min_length=1, max_length=MAX_STEPS)

    @property
    def constant(self) -> bool:
        """One request, always the same bytes: sent on the fast path (no task, no parsing of its answer)."""
        step = self.steps[0]
        plain = not any(PLACEHOLDER.search(t) for t in step.templates())
        return (len(self.steps) == 1 and not self.vars and not self.headers and not step.extract
                and not step.writes and step.expect is None and plain and not step.headers
                and step.json_body is None and step.form is None)


class JourneysFile(_Strict):
    journeys: dict[Name, JourneySpec] = Field(min_length=1, max_length=MAX_JOURNEYS)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def names_in(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def _name_problems(file: JourneysFile, locate: Locator) -> list[Problem]:
    """Every placeholder names a var, or a value extracted by an earlier step (journey headers: by any step)."""
    problems: list[Problem] = []
    for jname, journey in file.journeys.items():
        at = ("journeys", jname)
        extracted_anywhere = {n for s in journey.steps for n in s.extract}
        clash = sorted(set(journey.vars) & extracted_anywhere)
        if clash:
            problems.append(locate.problem((*at, "vars"), f"expected names used once, found {', '.join(clash)} "
                                           "both drawn in `vars` and extracted by a step"))
        for header, text in journey.headers.items():
            unknown = names_in(text) - set(journey.vars) - extracted_anywhere
            if unknown:
                problems.append(locate.problem((*at, "headers", header), _unknown(unknown, journey.vars)))
        known = set(journey.vars)
        for i, step in enumerate(journey.steps):
            unknown = set().union(*(names_in(t) for t in step.templates())) - known
            if unknown:
                problems.append(locate.problem((*at, "steps", i), _unknown(unknown, known)))
            known |= set(step.extract)
        names = [s.name for s in journey.steps]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append(locate.problem((*at, "steps"), f"expected step names used once, found {', '.join(dupes)} "
                                           "more than once (each has its own latency row)"))
    return problems


def _unknown(unknown: set[str], known: Any) -> str:
    have = ", ".join(sorted(known)) or "none"
    return (f"expected placeholders naming a var or a value an earlier step extracts, found "
            f"{', '.join('${' + n + '}' for n in sorted(unknown))} (known here: {have})")


def parse_journeys(text: str, source: str) -> JourneysFile:
    """The journeys of `text` checked; InvalidInput listing every problem at `source`:line otherwise."""
    try:
        root = safe_yaml.compose(text)
        data = safe_yaml.construct(root)
    except YamlProblem as problem:
        raise InvalidInput(problem.message, where=f"{source}:{problem.line}", fix="fix the journeys file") from None
    locate = Locator(source, root)
    try:
        parsed = JourneysFile.model_validate(data)
    except ValidationError as exc:
        problems = [locate.problem(tuple(e["loc"]), f"{e['msg']} (found {clip(e.get('input'))})")
                    for e in exc.errors()[:20]]
        raise _invalid(problems, source) from None
    problems = _name_problems(parsed, locate)
    if problems:
        raise _invalid(problems, source)
    return parsed


def _invalid(problems: list[Problem], source: str) -> InvalidInput:
    if len(problems) == 1:
        p = problems[0]
        return InvalidInput(f"{p.path}: {p.message}", where=f"{p.file}:{p.line}", fix="fix the journeys file")
    listing = "\n  ".join(str(p) for p in problems)
    return InvalidInput(f"{len(problems)} problems in the journeys file:\n  {listing}", where=source,
                        fix="fix the journeys file; nothing was sent")


def load_journeys(path: str | Path) -> JourneysFile:
    """A journeys file read within bounds and checked (InvalidInput at file:line)."""
    try:
        text = safe_yaml.decode(safe_yaml.read_bytes(path, "journeys file"))
    except YamlProblem as problem:
        raise InvalidInput(problem.message, where=f"{path}:{problem.line}", fix="save it as UTF-8") from None
    return parse_journeys(text, str(path))


@cache
def ent_journeys() -> JourneysFile:
    """The bundled ENT's journeys (pupil, teacher, virtual_class, login, flood), from the package's own file."""
    return load_journeys(ENT_JOURNEYS)


def journey_names(path: str | Path | None) -> list[str]:
    """The journeys a mix may name: those of `path`, or the ENT's."""
    return list((load_journeys(path) if path else ent_journeys()).journeys)
