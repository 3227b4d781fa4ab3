"""Arrival schedules: when each request (or journey) is *meant* to start, computed from the clock alone.

Every shape (constant, ramp, step surge, data profile) is a piecewise-linear rate r(t). The i-th arrival is
the instant the cumulative count N(t) = integral of r reaches i: evenly spread, deterministic, so the truth
of a measurement can be computed from the schedule. A Poisson option draws exponential gaps instead.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from chaos import safe_yaml
from chaos.errors import InvalidInput
from chaos.limits import MAX_DURATION_S, MAX_RATE
from chaos.safe_yaml import clip


@dataclass(frozen=True)
class Schedule:
    """A rate profile plus the hard bounds that make every run stop by itself."""

    points: tuple[tuple[float, float], ...]  # (t_s, rate per s), t non-decreasing; equal t = a jump
    duration_s: float
    max_requests: int | None = None
    poisson: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise InvalidInput("a load profile needs at least two (t_s, rate) points", fix="give a start and an end")
        last_t = -math.inf
        for t, rate in self.points:
            if t < last_t:
                raise InvalidInput(f"profile times must not go back (t={t} after t={last_t})", fix="sort the points")
            if rate < 0 or not math.isfinite(rate):
                raise InvalidInput(f"profile rate must be a finite number >= 0, got {rate} at t={t}")
            last_t = t
        if not (self.duration_s > 0 and math.isfinite(self.duration_s)):
            raise InvalidInput(f"duration must be > 0 seconds, got {self.duration_s}", fix="set --duration")
        if self.max_requests is not None and self.max_requests < 0:
            raise InvalidInput(f"max requests must be >= 0, got {self.max_requests}")

    @property
    def end_s(self) -> float:
        """When arrivals stop: the duration, or the last point when earlier."""
        return min(self.duration_s, self.points[-1][0])

    def rate_at(self, t: float) -> float:
        """Rate at time t (right-continuous at jumps)."""
        pts = self.points
        if t < pts[0][0] or t >= pts[-1][0]:
            return 0.0
        for (t0, r0), (t1, r1) in itertools.pairwise(pts):
            if t0 <= t < t1:
                return r0 + (r1 - r0) * (t - t0) / (t1 - t0)
        return 0.0

    def expected_count(self) -> float:
        """Arrivals the profile asks for before the bounds cut it."""
        total = 0.0
        end = self.end_s
        for (t0, r0), (t1, r1) in itertools.pairwise(self.points):
            if t1 <= t0 or t0 >= end:
                continue
            t1c = min(t1, end)
            r1c = r0 + (r1 - r0) * (t1c - t0) / (t1 - t0)
            total += (r0 + r1c) / 2 * (t1c - t0)
        if self.max_requests is not None:
            total = min(total, float(self.max_requests))
        return total

    def offsets(self) -> Iterator[float]:
        """Intended start offsets (seconds from the run start), increasing, within both bounds."""
        source = self._poisson_offsets() if self.poisson else self._even_offsets()
        limit = self.max_requests
        end = self.end_s
        for n, t in enumerate(source):
            if t >= end or (limit is not None and n >= limit):
                return
            yield t

    def _even_offsets(self) -> Iterator[float]:
        # The arrival k happens when the cumulative count crosses k: exact inversion per linear segment.
        done = 0.0  # arrivals accumulated before the current segment
        k = 0  # next arrival index; arrival 0 at the first instant the rate is positive
        for (t0, r0), (t1, r1) in itertools.pairwise(self.points):
            seg = t1 - t0
            if seg <= 0:
                continue
            slope = (r1 - r0) / seg
            area = (r0 + r1) / 2 * seg
            while k < done + area:
                c = k - done  # count still to accumulate inside this segment
                tau = c / r0 if slope == 0 else (-r0 + math.sqrt(max(r0 * r0 + 2 * slope * c, 0.0))) / slope
                yield t0 + min(max(tau, 0.0), seg)
                k += 1
            done += area

    def _poisson_offsets(self) -> Iterator[float]:
        # Thinning (Lewis-Shedler) against the profile's peak rate.
        rng = random.Random(self.seed)
        peak = max(r for _, r in self.points)
        if peak <= 0:
            return
        t = self.points[0][0]
        while t < self.end_s:
            t += rng.expovariate(peak)
            if rng.random() * peak < self.rate_at(t):
                yield t


def constant(rate: float, duration_s: float, *, max_requests: int | None = None, poisson: bool = False) -> Schedule:
    """The same rate for the whole duration."""
    return Schedule(((0.0, rate), (duration_s, rate)), duration_s, max_requests, poisson)


def ramp(
    start_rate: float, end_rate: float, duration_s: float, *, max_requests: int | None = None, poisson: bool = False
) -> Schedule:
    """A linear ramp from `start_rate` to `end_rate` over the duration."""
    return Schedule(((0.0, start_rate), (duration_s, end_rate)), duration_s, max_requests, poisson)


def step_surge(
    base_rate: float,
    surge_rate: float,
    surge_at_s: float,
    surge_for_s: float,
    duration_s: float,
    *,
    max_requests: int | None = None,
    poisson: bool = False,
) -> Schedule:
    """Base rate, a jump to the surge rate at `surge_at_s` for `surge_for_s`, back to the base (the 9:02 shape)."""
    surge_at_s = min(surge_at_s, duration_s)  # a surge after the end never comes (times never go back)
    end_surge = min(surge_at_s + surge_for_s, duration_s)
    pts = (
        (0.0, base_rate),
        (surge_at_s, base_rate),
        (surge_at_s, surge_rate),
        (end_surge, surge_rate),
        (end_surge, base_rate),
        (duration_s, base_rate),
    )
    return Schedule(pts, duration_s, max_requests, poisson)


def profile(
    points: Sequence[Sequence[float]],
    *,
    duration_s: float | None = None,
    max_requests: int | None = None,
    poisson: bool = False,
) -> Schedule:
    """A profile from data: (t_s, rate) points, linearly interpolated."""
    try:
        pts = tuple((float(p[0]), float(p[1])) for p in points)
    except (TypeError, ValueError, IndexError) as exc:
        raise InvalidInput(f"profile points must be [t_s, rate] pairs: {exc}", fix="e.g. [[0, 10], [60, 200]]") from exc
    if not pts:
        raise InvalidInput("profile has no points", fix="give at least two [t_s, rate] pairs")
    return Schedule(pts, duration_s if duration_s is not None else pts[-1][0], max_requests, poisson)


PROFILE_USAGE = "constant:RATE, ramp:FROM:TO, surge:BASE:SURGE:AT_S:FOR_S or file:PATH"
PROFILE_ARGS = {"constant": ("RATE",), "ramp": ("FROM", "TO"), "surge": ("BASE", "SURGE", "AT_S", "FOR_S")}
MAX_POINTS = 10_000


@dataclass(frozen=True)
class ProfileSpec:
    """A compact profile spec, checked: its kind and numbers, or the path of a profile file (not read yet)."""

    kind: str
    numbers: tuple[float, ...] = ()
    path: str = ""


def parse_spec(spec: object, *, max_rate: float = MAX_RATE) -> ProfileSpec:
    """`constant:200`, `ramp:10:500`, `surge:50:800:10:20` (base, surge, at, for) or `file:PATH`, checked: rates
    finite, >= 0 and at most `max_rate`, times at most a day. `InvalidInput` saying what was expected otherwise."""
    if not isinstance(spec, str):
        raise InvalidInput(f"expected a profile {PROFILE_USAGE}, found {clip(spec)}")
    kind, sep, rest = spec.partition(":")
    if kind == "file":
        if not rest.strip():
            raise InvalidInput("expected file:PATH, found no path", fix="e.g. file:profiles/morning.yaml")
        return ProfileSpec("file", path=rest)
    if kind not in PROFILE_ARGS:
        raise InvalidInput(f"expected a profile {PROFILE_USAGE}, found {clip(spec)!r}")
    names = PROFILE_ARGS[kind]
    args = rest.split(":") if sep else []
    if len(args) != len(names):
        raise InvalidInput(f"expected {kind}:{':'.join(names)} ({len(names)} number(s)), found {len(args)} in "
                           f"{clip(spec)!r}")
    numbers = []
    for name, text in zip(names, args, strict=True):
        try:
            value = float(text)
        except ValueError:
            raise InvalidInput(f"expected {name} a number in {kind}:{':'.join(names)}, found {clip(text)!r}") from None
        bound = MAX_DURATION_S if name.endswith("_S") else max_rate
        if not (math.isfinite(value) and 0 <= value <= bound):
            raise InvalidInput(f"expected {name} a number from 0 to {bound:g} in {kind}:{':'.join(names)}, "
                               f"found {clip(text)}")
        numbers.append(value)
    return ProfileSpec(kind, tuple(numbers))


def _number(value: object, what: str, where: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= value <= high):
        raise InvalidInput(f"expected {what} a number from {low:g} to {high:g}, found {clip(value)}", where=where)
    return float(value)


def load_profile(path: str | Path, *, duration_s: float | None = None, max_requests: int | None = None,
                 max_rate: float = MAX_RATE) -> Schedule:
    """Read a profile from YAML or JSON: either a list of [t_s, rate] or {points: [...], poisson: bool}.

    Read within bounds (`chaos.safe_yaml`: a small regular UTF-8 file); every number checked (times at most a day,
    rates at most `max_rate`, at most 10 000 points)."""
    p = Path(path)
    _, data = safe_yaml.load_file(p, "profile")
    poisson = False
    where = str(p)
    if isinstance(data, dict):
        unknown = sorted(map(str, set(data) - {"points", "poisson", "max_requests", "duration_s"}))
        if unknown:
            raise InvalidInput(f"expected points, poisson, max_requests, duration_s, found {clip(unknown)}",
                               where=where)
        poisson = data.get("poisson", False)
        if not isinstance(poisson, bool):
            raise InvalidInput(f"expected poisson true or false, found {clip(poisson)}", where=where)
        if data.get("max_requests") is not None:
            max_requests = int(_number(data["max_requests"], "max_requests", where, low=0, high=1e9))
        if data.get("duration_s") is not None:
            duration_s = _number(data["duration_s"], "duration_s", where, low=0, high=MAX_DURATION_S)
        data = data.get("points")
    if not isinstance(data, list) or not 2 <= len(data) <= MAX_POINTS:
        raise InvalidInput(f"expected a list of 2 to {MAX_POINTS} [t_s, rate] points, found {clip(data)}",
                           where=where, fix="e.g. points: [[0, 10], [60, 200]]")
    points = []
    for i, point in enumerate(data):
        if not isinstance(point, list) or len(point) != 2:
            raise InvalidInput(f"expected point {i} a [t_s, rate] pair, found {clip(point)}", where=where)
        points.append((_number(point[0], f"point {i}'s t_s", where, low=0, high=MAX_DURATION_S),
                       _number(point[1], f"point {i}'s rate", where, low=0, high=max_rate)))
    return profile(points, duration_s=duration_s, max_requests=max_requests, poisson=poisson)


def from_spec(spec: str, duration_s: float, *, max_requests: int | None = None) -> Schedule:
    """Parse a compact CLI spec: `constant:200`, `ramp:10:500`, `surge:50:800:10:20` (base, surge, at, for),
    or `file:PATH` (YAML/JSON profile)."""
    parsed = parse_spec(spec)
    if parsed.kind == "file":
        return load_profile(parsed.path, duration_s=duration_s, max_requests=max_requests)
    n = parsed.numbers  # as many as the kind takes (`parse_spec` checked)
    if parsed.kind == "constant":
        return constant(n[0], duration_s, max_requests=max_requests)
    if parsed.kind == "ramp":
        return ramp(n[0], n[1], duration_s, max_requests=max_requests)
    return step_surge(n[0], n[1], n[2], n[3], duration_s, max_requests=max_requests)
