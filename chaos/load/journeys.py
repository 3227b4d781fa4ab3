"""User journeys played from their YAML declaration (chaos.load.journey_spec), and the weighted mix.

An arrival from the schedule starts a journey. Inside a journey a user waits for each answer before the next
click (that is how people behave), so a step's intended time is the previous answer plus the think time; the
journeys themselves still arrive by the clock. A journey of one constant request (the flood) is sent on the
fast path: a callback, no task, the same bytes every time, as cheap as wrk's.

A journey ends at its first step that is not served: that journey failed, counted once by what the user got. An
answer from the app with a status the step does not expect is an `error`, not served (in the statistics too).
A journey also ends, without failing, before a step that needs a value no earlier answer gave (an empty
homework list: nothing to hand in).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import re
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from chaos.errors import InvalidInput
from chaos.load.classify import APP, ERROR, FALLBACK
from chaos.load.client import ConnectionPool, Response, build_request
from chaos.load.journey_spec import PLACEHOLDER, JourneySpec, StepSpec, Var, ent_journeys, load_journeys, names_in
from chaos.load.ledger import WriteLedger
from chaos.load.stats import LoadStats
from chaos.log import get_logger

log = get_logger(__name__)

_MISSING = object()


@dataclass(frozen=True)
class Step:
    """One kind of request in a journey: its name (for per-step latency) and whether it writes."""

    name: str
    write: bool  # needs the app itself: a fallback page does not count as served


@dataclass
class JourneyContext:
    """What every journey shares: the connection pool, the statistics, the ledger, the random source."""

    pool: ConnectionPool
    stats: LoadStats
    ledger: WriteLedger
    host_header: str
    timeout_s: float
    think_s: float = 0.0
    rng: random.Random = field(default_factory=random.Random)
    step_ids: Mapping[str, int] = field(default_factory=dict)  # step name -> LoadStats step id

    def wall(self, t: float) -> float:
        """Wall-clock time of a monotonic instant (the ledger is read by people and other processes)."""
        return self.stats.start_unix + (t - self.stats.start)


# ---- values --------------------------------------------------------------------------------------------------


def draw(var: Var, rng: random.Random) -> Any:
    """A var's value for one journey start."""
    if var.random_int is not None:
        n = rng.randint(var.random_int.min, var.random_int.max)
        return f"{n:0{var.random_int.pad}d}" if var.random_int.pad else n
    if var.uuid4:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if var.date is not None:
        return (dt.date.today() + dt.timedelta(days=var.date.days_from_today)).isoformat()
    if var.choice is not None:
        return rng.choice(var.choice)
    return var.value


def fill(text: str, values: Mapping[str, Any], convert: Callable[[Any], str] = str) -> str:
    return PLACEHOLDER.sub(lambda m: convert(values[m.group(1)]), text)


def fill_json(value: Any, values: Mapping[str, Any]) -> Any:
    """A JSON body with its placeholders filled; a string that is one placeholder keeps the value's type."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        return values[whole.group(1)] if whole else fill(value, values)
    if isinstance(value, dict):
        return {fill_json(k, values): fill_json(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_json(v, values) for v in value]
    return value


def _path_part(value: Any) -> str:
    return quote(str(value), safe="")


def _header_value(value: Any) -> str:
    return str(value).replace("\r", " ").replace("\n", " ")


def json_path(data: Any, path: str) -> list[Any]:
    """Values at a dotted path: keys, list indexes, `*` for every item (`*.id`, `user.class_id`)."""
    found = [data]
    for part in filter(None, path.split(".")):
        nxt: list[Any] = []
        for node in found:
            if part == "*":
                nxt.extend(node.values() if isinstance(node, dict) else node if isinstance(node, list) else [])
            elif isinstance(node, dict) and part in node:
                nxt.append(node[part])
            elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
                nxt.append(node[int(part)])
        found = nxt
    return [v for v in found if v is not None and not isinstance(v, dict | list)]


# ---- a journey played -----------------------------------------------------------------------------------------


class _PlayedStep:
    """A step's declaration with what is worked out once: its stats name, the names it needs, its regexes."""

    def __init__(self, journey: str, spec: StepSpec, journey_headers: Mapping[str, str]) -> None:
        self.spec = spec
        self.step = Step(f"{journey}.{spec.name}", spec.writes)
        self.needs = set().union(*(names_in(t) for t in spec.templates()))
        self.journey_headers = [(k, v, names_in(v)) for k, v in journey_headers.items() if k not in spec.headers]
        self.regexes = {name: re.compile(e.regex) for name, e in spec.extract.items() if e.regex is not None}
        self.expect = frozenset(spec.expect) if spec.expect is not None else None

    def request(self, values: Mapping[str, Any], host: str) -> bytes:
        s = self.spec
        known = values.keys()
        headers = [(k, fill(v, values, _header_value)) for k, v, needs in self.journey_headers if needs <= known]
        headers += [(k, fill(v, values, _header_value)) for k, v in s.headers.items()]
        body = None
        if s.json_body is not None:
            body = json.dumps(fill_json(s.json_body, values)).encode()
            headers.append(("Content-Type", "application/json"))
        elif s.form is not None:
            body = urlencode({k: fill(v, values) for k, v in s.form.items()}).encode()
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        return build_request(s.method, fill(s.path, values, _path_part), host, body=body, headers=headers)

    def extract(self, r: Response, values: dict[str, Any], rng: random.Random) -> None:
        parsed: Any = _MISSING
        for name, e in self.spec.extract.items():
            found: list[Any] = []
            if e.json_path is not None:
                if parsed is _MISSING:
                    parsed = _json(r)
                found = json_path(parsed, e.json_path)
            elif e.header is not None:
                v = r.headers.get(e.header.lower())
                found = [v] if v is not None else []
            else:
                m = self.regexes[name].search(r.body.decode("utf-8", "replace"))
                found = [m.group(1) if m.re.groups else m.group(0)] if m else []
            if found:
                values[name] = found[0] if e.pick == "first" or len(found) == 1 else rng.choice(found)
            elif e.default is not None:
                values[name] = e.default


class ScriptedJourney:
    """Plays one declared journey: draws its vars, sends its steps in order, hands extracted values on."""

    def __init__(self, name: str, spec: JourneySpec) -> None:
        self.name, self.spec = name, spec
        self.played = [_PlayedStep(name, s, spec.headers) for s in spec.steps]

    async def __call__(self, ctx: JourneyContext, t: float) -> None:
        values = {n: draw(v, ctx.rng) for n, v in self.spec.vars.items()}
        started: float | None = None
        intended = t
        for p in self.played:
            if not p.needs <= values.keys():
                return  # a value no answer gave: nothing more this user can do
            key = fill(p.spec.ledger_key, values) if p.spec.ledger_key is not None else None
            data = p.request(values, ctx.host_header)
            if started is None:
                started = intended
                ctx.stats.journey_started(intended)
            if key is not None:
                ctx.ledger.attempt(key, ctx.wall(intended))
            r = await ctx.pool.request(data, intended, ctx.timeout_s)
            write = p.step.write
            cls = r.cls
            if cls == APP and p.expect is not None and r.status not in p.expect:
                cls = ERROR  # the app answered, not as this step expects: a failed request, not a served one
            ctx.stats.record(ctx.step_ids[p.step.name], cls, write, r.intended, r.done_at)
            ok = cls == APP or (cls == FALLBACK and not write)
            if key is not None:
                body = _json(r) if cls == APP else None
                ctx.ledger.answer(key, cls, r.status, ctx.wall(r.done_at), r.headers,
                                  body if isinstance(body, dict) else None, acknowledged=cls == APP)
            if not ok:
                ctx.stats.journey_failed(started, cls)
                return
            if cls == APP and p.spec.extract:
                p.extract(r, values, ctx.rng)
            intended = r.done_at + (p.spec.think_s if p.spec.think_s is not None else ctx.think_s)


def _json(r: Response) -> Any:
    try:
        return json.loads(r.body)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class Journey:
    """A named user journey: its steps, the coroutine that plays it, or (constant) the one request it sends."""

    name: str
    steps: tuple[Step, ...]
    run: Callable[[JourneyContext, float], Coroutine[Any, Any, None]] | None  # None: the fast path
    weight: float = 1.0
    constant: tuple[str, str] | None = None  # (method, path) of a constant journey

    def constant_request(self, host: str, path: str | None = None) -> bytes:
        assert self.constant is not None
        method, own = self.constant
        return build_request(method, path or own, host)


def journeys_of(spec_file: Mapping[str, JourneySpec]) -> dict[str, Journey]:
    out: dict[str, Journey] = {}
    for name, spec in spec_file.items():
        if spec.constant:
            s = spec.steps[0]
            out[name] = Journey(name, (Step(f"{name}.{s.name}", False),), None, spec.weight, (s.method, s.path))
        else:
            played = ScriptedJourney(name, spec)
            out[name] = Journey(name, tuple(p.step for p in played.played), played, spec.weight)
    return out


@cache
def _catalog(path: str | None) -> dict[str, Journey]:
    return journeys_of((load_journeys(path) if path else ent_journeys()).journeys)


def catalog(path: str | Path | None = None) -> dict[str, Journey]:
    """The journeys of a journeys file (checked; InvalidInput at file:line), or the bundled ENT's."""
    return _catalog(str(path) if path else None)


class Mix:
    """Weighted choice of a journey per arrival; an empty mix uses the journeys' own weights."""

    def __init__(self, weights: Mapping[str, float], rng: random.Random,
                 journeys: Mapping[str, Journey] | None = None) -> None:
        journeys = catalog() if journeys is None else journeys
        unknown = sorted(set(weights) - set(journeys))
        if unknown:
            raise InvalidInput(f"unknown journey(s) {unknown}", fix=f"choose among {sorted(journeys)}")
        chosen = weights or {n: j.weight for n, j in journeys.items()}
        items = [(journeys[n], float(w)) for n, w in chosen.items() if w > 0]
        if not items:
            raise InvalidInput("the journey mix has no positive weight", fix="e.g. --mix pupil=8,teacher=1")
        self.journeys = [j for j, _ in items]
        self._cum = list(itertools.accumulate(w for _, w in items))
        self._rng = rng

    def pick(self) -> Journey:
        """A journey drawn by the mix's weights."""
        if len(self.journeys) == 1:
            return self.journeys[0]
        return self.journeys[bisect.bisect_right(self._cum, self._rng.random() * self._cum[-1])]

    @property
    def steps(self) -> list[Step]:
        """Every step of every journey of the mix (the statistics' per-step rows)."""
        return [s for j in self.journeys for s in j.steps]


def parse_mix(text: str) -> dict[str, float]:
    """`pupil=8,teacher=1,virtual_class=2` or a single journey name."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        try:
            out[name.strip()] = float(weight) if weight else 1.0
        except ValueError as exc:
            raise InvalidInput(f"bad weight in mix {part!r}", fix="write name=number, e.g. pupil=8") from exc
    return out
