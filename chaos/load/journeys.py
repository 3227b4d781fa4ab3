"""User journeys against the ENT app API, and the weighted mix that picks one per arrival.

An arrival from the schedule starts a journey. Inside a journey a user waits for each answer before the next
click (that is how people behave), so a step's intended time is the previous answer plus the think time; the
journeys themselves still arrive by the clock. `flood` is one request per arrival with no session: it is
served by a callback, without a task, because it is the attack profile and must be as cheap as wrk's.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import json
import random
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from chaos.errors import InvalidInput
from chaos.load.classify import APP, FALLBACK
from chaos.load.client import ConnectionPool, Response, build_request
from chaos.load.ledger import WriteLedger
from chaos.load.stats import LoadStats
from chaos.log import get_logger

log = get_logger(__name__)

PUPILS = 2000
TEACHERS = 100
RESOURCES = 50
PASSWORD = "ent"
_SERVED = (APP, FALLBACK)


@dataclass(frozen=True)
class Step:
    """One kind of request in a journey: its name (for per-step latency) and whether it writes."""

    name: str
    write: bool  # needs the app itself: a fallback page does not count as served


class Session:
    """What one journey needs: the pool, where to record, and the user's token."""

    def __init__(self, ctx: JourneyContext) -> None:
        self.ctx = ctx
        self.token: str | None = None
        self.user: dict[str, Any] = {}
        self.started: float | None = None  # intended time of the journey's first request
        self.failed = False

    async def call(self, step: Step, method: str, path: str, intended: float, payload: Any = None) -> Response:
        """One request at `intended` (with the token once logged in); its answer, counted in the statistics."""
        ctx = self.ctx
        headers = [("Accept", "application/json")]
        if self.token:
            headers.append(("Authorization", f"Bearer {self.token}"))
        body = None
        if payload is not None:
            body = json.dumps(payload).encode()
            headers.append(("Content-Type", "application/json"))
        data = build_request(method, path, ctx.host_header, body=body, headers=headers)
        if self.started is None:
            self.started = intended
            ctx.stats.journey_started(intended)
        resp = await ctx.pool.request(data, intended, ctx.timeout_s)
        ctx.stats.record(ctx.step_ids[step.name], resp.cls, step.write, resp.intended, resp.done_at)
        if not self.failed and not (resp.cls == APP or (resp.cls == FALLBACK and not step.write)):
            self.failed = True  # the journey broke here: counted once, by what the user got
            ctx.stats.journey_failed(self.started, resp.cls)
        return resp

    def next_time(self, resp: Response) -> float:
        """When the user sends the next request: after the answer, plus thinking time."""
        return resp.done_at + self.ctx.think_s

    async def login(self, step: Step, login: str, intended: float) -> Response | None:
        r = await self.call(step, "POST", "/api/login", intended, {"login": login, "password": PASSWORD})
        data = _json(r) if r.cls == APP and r.status == 200 else None
        if not isinstance(data, dict) or "token" not in data:
            return None
        self.token = str(data["token"])
        self.user = data.get("user") or {}
        return r


@dataclass
class JourneyContext:
    """What every journey shares: the connection pool, the statistics, the ledger, the random source."""

    pool: ConnectionPool
    stats: LoadStats
    ledger: WriteLedger
    host_header: str
    timeout_s: float
    think_s: float = 0.0
    flood_path: str = "/"
    rng: random.Random = field(default_factory=random.Random)
    step_ids: Mapping[str, int] = field(default_factory=dict)  # step name -> LoadStats step id

    def wall(self, t: float) -> float:
        """Wall-clock time of a monotonic instant (the ledger is read by people and other processes)."""
        return self.stats.start_unix + (t - self.stats.start)


def _json(r: Response) -> Any:
    try:
        return json.loads(r.body)
    except (ValueError, UnicodeDecodeError):
        return None


# journeys ------------------------------------------------------------------------------------------
P_LOGIN = Step("pupil.login", write=True)
P_TIMETABLE = Step("pupil.timetable", write=False)
P_HOMEWORK = Step("pupil.homework", write=False)
P_RESOURCE = Step("pupil.resource", write=False)
P_SUBMIT = Step("pupil.submit", write=True)
T_LOGIN = Step("teacher.login", write=True)
T_POST = Step("teacher.post_homework", write=True)
T_MESSAGES = Step("teacher.messages", write=False)
V_LOGIN = Step("virtual_class.login", write=True)
V_JOIN = Step("virtual_class.join", write=True)
L_LOGIN = Step("login.login", write=True)
FLOOD = Step("flood.get", write=False)


async def pupil_morning(ctx: JourneyContext, t: float) -> None:
    """A pupil's morning: log in, timetable, homework list, a resource, then hand in homework (a ledger write)."""
    s = Session(ctx)
    r = await s.login(P_LOGIN, f"pupil{ctx.rng.randint(1, PUPILS):04d}", t)
    if r is None:
        return
    r = await s.call(P_TIMETABLE, "GET", "/api/timetable", s.next_time(r))
    if r.cls not in _SERVED:
        return
    r = await s.call(P_HOMEWORK, "GET", "/api/homework", s.next_time(r))
    if r.cls not in _SERVED:
        return
    listing = _json(r) if r.cls == APP else None
    ids = [h["id"] for h in listing if isinstance(h, dict) and "id" in h] if isinstance(listing, list) else []
    r = await s.call(P_RESOURCE, "GET", f"/api/resources/{ctx.rng.randint(1, RESOURCES)}", s.next_time(r))
    if not ids:
        return
    key = str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))
    t = s.next_time(r)
    ctx.ledger.attempt(key, ctx.wall(t))
    r = await s.call(
        P_SUBMIT,
        "POST",
        f"/api/homework/{ctx.rng.choice(ids)}/submissions",
        t,
        {
            "key": key,
            "content": f"devoir rendu par {s.user.get('login', '?')}",
        },
    )
    body = _json(r) if r.cls == APP else None
    ctx.ledger.answer(key, r.cls, r.status, ctx.wall(r.done_at), r.headers, body if isinstance(body, dict) else None)


async def login_rush(ctx: JourneyContext, t: float) -> None:
    """9:00 on 6 April 2021: a pupil only logs in (one request per arrival, so arrivals are requests)."""
    await Session(ctx).login(L_LOGIN, f"pupil{ctx.rng.randint(1, PUPILS):04d}", t)


async def teacher(ctx: JourneyContext, t: float) -> None:
    """A teacher: log in, post homework for the class (a write), read messages."""
    s = Session(ctx)
    r = await s.login(T_LOGIN, f"teacher{ctx.rng.randint(1, TEACHERS):03d}", t)
    if r is None:
        return
    due = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    class_id = s.user.get("class_id") or 1
    r = await s.call(
        T_POST,
        "POST",
        "/api/homework",
        s.next_time(r),
        {
            "class_id": class_id,
            "title": "Exercices pour la semaine",
            "due": due,
        },
    )
    await s.call(T_MESSAGES, "GET", "/api/messages", s.next_time(r))


async def virtual_class(ctx: JourneyContext, t: float) -> None:
    """A pupil joins their class's virtual class: log in, join."""
    s = Session(ctx)
    r = await s.login(V_LOGIN, f"pupil{ctx.rng.randint(1, PUPILS):04d}", t)
    if r is None:
        return
    class_id = s.user.get("class_id") or 1
    await s.call(V_JOIN, "POST", f"/api/classes/{class_id}/join", s.next_time(r))


@dataclass(frozen=True)
class Journey:
    """A named user journey: its steps and the coroutine that plays it (None: the flood)."""

    name: str
    steps: tuple[Step, ...]
    run: Callable[[JourneyContext, float], Coroutine[Any, Any, None]] | None  # None: the flood fast path


JOURNEYS: dict[str, Journey] = {
    "pupil": Journey("pupil", (P_LOGIN, P_TIMETABLE, P_HOMEWORK, P_RESOURCE, P_SUBMIT), pupil_morning),
    "teacher": Journey("teacher", (T_LOGIN, T_POST, T_MESSAGES), teacher),
    "virtual_class": Journey("virtual_class", (V_LOGIN, V_JOIN), virtual_class),
    "login": Journey("login", (L_LOGIN,), login_rush),
    "flood": Journey("flood", (FLOOD,), None),
}


class Mix:
    """Weighted choice of a journey per arrival."""

    def __init__(self, weights: Mapping[str, float], rng: random.Random) -> None:
        unknown = sorted(set(weights) - set(JOURNEYS))
        if unknown:
            raise InvalidInput(f"unknown journey(s) {unknown}", fix=f"choose among {sorted(JOURNEYS)}")
        items = [(JOURNEYS[n], float(w)) for n, w in weights.items() if w > 0]
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
