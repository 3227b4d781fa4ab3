"""Latency and outcome statistics: HDR histograms per class and per journey step, a per-second series.

The hot path does not call `HdrHistogram.record_value` (about 2 µs in pure Python, paid three times per
response): it computes the HDR bucket index once with the library's own formula and bumps plain counters.
Counters become real `HdrHistogram` objects when somebody asks (percentiles, export), so every figure still
comes from hdrhistogram with its precision guarantee (3 significant digits).

Requests are filed in ticks of 100 ms keyed by their *intended* send time: "availability during the fault"
means "of the requests users tried to make in that window, how many were served", whatever happened to them
afterwards. A window counts the whole ticks that lie inside it, so its figures are exact to 100 ms: a window
that starts with a fault injected at 1.29 s starts at 1.3 s and holds no request sent before the fault.

Journeys are counted too, by the tick of their first request: how many started, and how many failed, by the
class of their first failed answer (what the user saw when the journey broke).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from chaos.load.classify import APP, CLASSES, FALLBACK, REFUSED

LOWEST_US = 1
HIGHEST_US = 600_000_000  # ten minutes: any timeout we allow fits
SIGNIFICANT = 3
N_CLASSES = len(CLASSES)
# Latency percentiles leave out `refused`: a connection refused in 50 µs is not a fast answer.
LATENCY_CLASSES: tuple[int, ...] = tuple(i for i in range(N_CLASSES) if i != REFUSED)

_proto = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT)
_MASK = _proto.sub_bucket_mask
_UNIT = _proto.unit_magnitude
_HALF_MAG = _proto.sub_bucket_half_count_magnitude
_HALF = _proto.sub_bucket_half_count
_SHIFT = _UNIT + _HALF_MAG + 1
COUNTS_LEN = _proto.counts_len


def hdr_index(value_us: int) -> int:
    """The counts index HdrHistogram would use for this value (same arithmetic as hdrh.histogram)."""
    b = (value_us | _MASK).bit_length() - _SHIFT
    return ((b + 1) << _HALF_MAG) + (value_us >> (b + _UNIT)) - _HALF


def to_hdr(counts: dict[int, int] | Sequence[int]) -> HdrHistogram:
    """Turn index->count counters into an HdrHistogram."""
    h = HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT)
    items: Iterable[tuple[int, int]] = counts.items() if isinstance(counts, dict) else enumerate(counts)
    for idx, c in items:
        if c:
            h.record_value(h.get_value_from_index(idx), c)
    return h


def _ms(h: HdrHistogram, q: float) -> float | None:
    return h.get_value_at_percentile(q) / 1000.0 if h.get_total_count() else None


TICK_S = 0.1
TICKS_PER_S = 10
_EPS = 1e-6  # float noise: 1.3 * 10 is 13.000000000000002, which is still tick 13


def first_tick(offset_s: float) -> int:
    """The first whole tick starting at or after `offset_s`."""
    return math.ceil(offset_s * TICKS_PER_S - _EPS)


def end_tick(offset_s: float) -> int:
    """One past the last whole tick ending at or before `offset_s`."""
    return math.floor(offset_s * TICKS_PER_S + _EPS) if offset_s != float("inf") else 1 << 62


class Tick:
    """100 ms of intended send times: counts by (read|write, class), sparse latency counters by class, and
    journeys started there: `journeys[0]` started, `journeys[1 + cls]` failed first with that class."""

    __slots__ = ("counts", "hists", "journeys", "sent")

    def __init__(self) -> None:
        self.counts = [0] * (2 * N_CLASSES)  # [read classes..., write classes...]
        self.hists: list[dict[int, int]] = [{} for _ in range(N_CLASSES)]
        self.journeys = [0] * (1 + N_CLASSES)
        self.sent = 0  # arrivals dispatched (journey starts, flood requests), known before any answer


@dataclass
class Window:
    """Everything recorded for intended send times in [start_s, end_s)."""

    start_s: float
    end_s: float
    reads: list[int] = field(default_factory=lambda: [0] * N_CLASSES)
    writes: list[int] = field(default_factory=lambda: [0] * N_CLASSES)
    hists: list[dict[int, int]] = field(default_factory=lambda: [{} for _ in range(N_CLASSES)])
    journeys: list[int] = field(default_factory=lambda: [0] * (1 + N_CLASSES))
    sent: int = 0  # arrivals dispatched in the window (answered or not yet)

    @property
    def total(self) -> int:
        return sum(self.reads) + sum(self.writes)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)

    def add(self, tick: Tick) -> None:
        """Count one tick into the window."""
        for i in range(N_CLASSES):
            self.reads[i] += tick.counts[i]
            self.writes[i] += tick.counts[i + N_CLASSES]
            if tick.hists[i]:
                dst = self.hists[i]
                for idx, n in list(tick.hists[i].items()):
                    dst[idx] = dst.get(idx, 0) + n
        for i, n in enumerate(tick.journeys):
            self.journeys[i] += n
        self.sent += tick.sent

    def failed_by_class(self) -> dict[str, int]:
        """Requests not served, by class: reads that got neither the app nor the fallback, writes not the app."""
        out = {name: self.reads[i] + self.writes[i] for i, name in enumerate(CLASSES) if i not in (APP, FALLBACK)}
        out["fallback"] = self.writes[FALLBACK]  # a write answered by the static site saved nothing
        return {k: v for k, v in out.items() if v}

    def failed_journeys_by_class(self) -> dict[str, int]:
        return {name: self.journeys[1 + i] for i, name in enumerate(CLASSES) if self.journeys[1 + i]}

    @property
    def journeys_started(self) -> int:
        return self.journeys[0]

    def rps(self) -> float | None:
        return self.total / self.duration_s if self.duration_s > 0 else None

    def by_class(self) -> dict[str, int]:
        return {name: self.reads[i] + self.writes[i] for i, name in enumerate(CLASSES)}

    def availability(self, kind: str = "all") -> float | None:
        """Reads count app + fallback as served; writes count app only. None when nothing was sent."""
        r_ok, r_n = self.reads[APP] + self.reads[FALLBACK], sum(self.reads)
        w_ok, w_n = self.writes[APP], sum(self.writes)
        ok, n = {"read": (r_ok, r_n), "write": (w_ok, w_n), "all": (r_ok + w_ok, r_n + w_n)}[kind]
        return ok / n if n else None

    def histogram(self, classes: Iterable[int] = LATENCY_CLASSES) -> HdrHistogram:
        merged: dict[int, int] = {}
        for c in classes:
            for idx, n in self.hists[c].items():
                merged[idx] = merged.get(idx, 0) + n
        return to_hdr(merged)

    def percentile_ms(self, q: float, classes: Iterable[int] = LATENCY_CLASSES) -> float | None:
        return _ms(self.histogram(classes), q)


class LoadStats:
    """All measurements of one load run. `record` is the hot path; everything else is for readers."""

    def __init__(self, start: float | None = None, start_unix: float | None = None) -> None:
        self.start = time.monotonic() if start is None else start  # monotonic origin of intended offsets
        self.start_unix = time.time() if start_unix is None else start_unix
        self.class_counts: list[list[int]] = [[0] * COUNTS_LEN for _ in range(N_CLASSES)]
        self.steps: list[str] = []
        self.step_hists: list[list[int]] = []
        self.step_class: list[list[int]] = []
        self.ticks: dict[int, Tick] = {}
        self.totals = [0] * N_CLASSES
        self._last_tick: int | None = None  # cache of the Tick last recorded into
        self._last = Tick()
        self._dirty: set[int] = set()  # ticks changed since the last `take_changed`

    def step_id(self, name: str) -> int:
        """Register a journey step once, before the run; `record` takes the returned int."""
        if name in self.steps:
            return self.steps.index(name)
        self.steps.append(name)
        self.step_hists.append([0] * COUNTS_LEN)
        self.step_class.append([0] * N_CLASSES)
        return len(self.steps) - 1

    def record(self, step: int, cls: int, is_write: bool, intended: float, done_at: float) -> None:
        """One answer of class `cls` (a write or not) to step `step`, intended at `intended`, done at `done_at`."""
        v = int((done_at - intended) * 1_000_000)
        if v < LOWEST_US:
            v = LOWEST_US
        elif v > HIGHEST_US:
            v = HIGHEST_US
        b = (v | _MASK).bit_length() - _SHIFT
        idx = ((b + 1) << _HALF_MAG) + (v >> (b + _UNIT)) - _HALF
        self.class_counts[cls][idx] += 1
        self.step_hists[step][idx] += 1
        self.step_class[step][cls] += 1
        self.totals[cls] += 1
        k = int((intended - self.start) * TICKS_PER_S)
        if k == self._last_tick:  # answers mostly arrive in intended order: skip the dict lookup
            tick = self._last
        else:
            found = self.ticks.get(k)
            if found is None:
                found = self.ticks[k] = Tick()
            self._dirty.add(k)  # here only: `take_changed` clears the cache, so the next answer comes by again
            self._last_tick, self._last = k, found
            tick = found
        tick.counts[cls + N_CLASSES if is_write else cls] += 1
        h = tick.hists[cls]
        h[idx] = h.get(idx, 0) + 1

    def _tick_at(self, intended: float) -> Tick:
        k = int((intended - self.start) * TICKS_PER_S)
        tick = self.ticks.get(k)
        if tick is None:
            tick = self.ticks[k] = Tick()
        self._dirty.add(k)
        return tick

    def dispatched(self, intended: float) -> None:
        """An arrival went out (a journey start or a flood request): counted before its answer is in."""
        self._tick_at(intended).sent += 1

    def journey_started(self, intended: float) -> None:
        self._tick_at(intended).journeys[0] += 1

    def journey_failed(self, started: float, cls: int) -> None:
        """A journey that started at `started` broke on an answer of class `cls` (counted once per journey)."""
        self._tick_at(started).journeys[1 + cls] += 1

    # readers -----------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(self.totals)

    def window(self, start_s: float = 0.0, end_s: float = float("inf")) -> Window:
        """The whole ticks inside [start_s, end_s) (offsets from the run start): exact to 100 ms, and never a
        request sent outside the window. The returned window's bounds are the ones actually counted."""
        lo, hi = first_tick(start_s), end_tick(end_s)
        if end_s == float("inf"):
            w = Window(lo / TICKS_PER_S, end_s)
        else:
            w = Window(lo / TICKS_PER_S, max(lo, hi) / TICKS_PER_S)
        for k, tick in list(self.ticks.items()):  # a copy: a load thread may be adding ticks
            if lo <= k < hi:
                w.add(tick)
        return w

    def tick_range(self) -> tuple[int, int]:
        """First tick and one past the last tick that hold anything (0, 0 when empty)."""
        keys = list(self.ticks)
        return (min(keys), max(keys) + 1) if keys else (0, 0)

    def second(self, sec: int) -> Window | None:
        """Intended send times in [sec, sec + 1), or None when nothing was sent then."""
        w = self.window(sec, sec + 1)
        return w if w.total or w.journeys_started else None

    def offset_of(self, unix_time: float) -> float:
        """Offset (s from the run start) of a wall-clock instant, e.g. a fault's injection time."""
        return unix_time - self.start_unix

    def class_histogram(self, cls: int | str) -> HdrHistogram:
        i = CLASSES.index(cls) if isinstance(cls, str) else cls
        return to_hdr(self.class_counts[i])

    def step_histogram(self, name: str) -> HdrHistogram:
        return to_hdr(self.step_hists[self.steps.index(name)])

    def series(self, step_s: float = 1.0) -> list[dict[str, Any]]:
        """One row per `step_s` (a whole number of ticks) of intended send time, from the first tick that
        holds anything to the last; empty steps in between are rows too (a plot must show the gap)."""
        per = max(1, round(step_s * TICKS_PER_S))
        lo, hi = self.tick_range()
        by_row: dict[int, Window] = {}
        for k, tick in list(self.ticks.items()):
            r = k // per
            w = by_row.get(r)
            if w is None:
                w = by_row[r] = Window(r * per / TICKS_PER_S, (r + 1) * per / TICKS_PER_S)
            w.add(tick)
        rows = []
        for r in range(lo // per, -(-hi // per)) if by_row else ():
            w = by_row.get(r) or Window(r * per / TICKS_PER_S, (r + 1) * per / TICKS_PER_S)
            h = w.histogram()
            t = round(w.start_s, 3)
            rows.append(
                {
                    "type": "second",
                    "t": t,
                    "unix": round(self.start_unix + t, 3),
                    "sent": w.total,
                    "by_class": w.by_class(),
                    "writes": dict(zip(CLASSES, w.writes, strict=True)),
                    "availability": w.availability("all"),
                    "availability_read": w.availability("read"),
                    "availability_write": w.availability("write"),
                    "p50_ms": _ms(h, 50),
                    "p95_ms": _ms(h, 95),
                    "p99_ms": _ms(h, 99),
                }
            )
        return rows

    def summary(self) -> dict[str, Any]:
        """Whole-run figures by class and by step: counts and latency percentiles."""
        classes = {}
        for i, name in enumerate(CLASSES):
            h = to_hdr(self.class_counts[i])
            classes[name] = _hist_summary(h)
        steps = {}
        for j, name in enumerate(self.steps):
            d = _hist_summary(to_hdr(self.step_hists[j]))
            d["by_class"] = dict(zip(CLASSES, self.step_class[j], strict=True))
            steps[name] = d
        w = self.window()
        return {
            "type": "summary",
            "start_unix": self.start_unix,
            "total": self.total,
            "by_class": dict(zip(CLASSES, self.totals, strict=True)),
            "availability": w.availability("all"),
            "availability_read": w.availability("read"),
            "availability_write": w.availability("write"),
            "p50_ms": w.percentile_ms(50),
            "p95_ms": w.percentile_ms(95),
            "p99_ms": w.percentile_ms(99),
            "classes": classes,
            "steps": steps,
        }

    def snapshot(self) -> dict[str, Any]:
        """Everything the windows need (per-tick counts, sparse latency counters, journeys), as plain JSON: how a
        generator in a client container shows its live statistics to the engine on the host."""
        return {"start_unix": self.start_unix, "tick_s": TICK_S, "ticks": self._ticks_json(list(self.ticks))}

    def take_changed(self) -> dict[str, Any]:
        """The ticks changed since the last call, as in `snapshot`: a live writer's cost stays that of the last
        seconds' answers, not of the whole run so far (rewriting it all each second stalled the generator)."""
        changed, self._dirty = self._dirty, set()
        self._last_tick = None  # the cached tick is clean now: its next answer must mark it again
        return self._ticks_json(sorted(changed))

    def _ticks_json(self, keys: list[int]) -> dict[str, Any]:
        ticks = {}
        for k in keys:
            tick = self.ticks[k]
            hists = [{str(i): v for i, v in list(h.items())} for h in tick.hists]
            ticks[str(k)] = {"counts": list(tick.counts), "hists": hists, "journeys": list(tick.journeys),
                             "sent": tick.sent}
        return ticks

    def apply_ticks(self, ticks: dict[str, Any]) -> None:
        """Take these ticks (from `snapshot` or `take_changed`) in place of what this holds for them."""
        for k, row in ticks.items():
            old = self.ticks.get(int(k))
            if old is not None:
                for i in range(N_CLASSES):
                    self.totals[i] -= old.counts[i] + old.counts[i + N_CLASSES]
            tick = self.ticks[int(k)] = Tick()
            tick.counts = [int(c) for c in row["counts"]]
            tick.hists = [{int(i): int(v) for i, v in h.items()} for h in row["hists"]]
            tick.journeys = [int(n) for n in row.get("journeys") or tick.journeys]
            tick.sent = int(row.get("sent") or 0)
            for i in range(N_CLASSES):
                self.totals[i] += tick.counts[i] + tick.counts[i + N_CLASSES]

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> LoadStats:
        """Read back what `snapshot` wrote (a generator in a client container); ValueError from another version."""
        if "ticks" not in data or abs(float(data.get("tick_s", 0)) - TICK_S) > 1e-9:
            raise ValueError("a load snapshot from another version of entchaos (no 100 ms ticks): rebuild the "
                             "client image with `entchaos stack build`")
        stats = cls(start=0.0, start_unix=float(data["start_unix"]))
        stats.apply_ticks(data["ticks"])
        return stats

    def write_jsonl(self, path: str | Path) -> Path:
        """The series (one line per second) then one summary line with encoded histograms."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w") as f:
            for row in self.series():
                f.write(json.dumps(row) + "\n")
            f.write(json.dumps(self.summary()) + "\n")
        return p


def _hist_summary(h: HdrHistogram) -> dict[str, Any]:
    n = h.get_total_count()
    return {
        "count": n,
        "p50_ms": _ms(h, 50),
        "p95_ms": _ms(h, 95),
        "p99_ms": _ms(h, 99),
        "max_ms": h.get_max_value() / 1000.0 if n else None,
        "hdr": h.encode().decode() if n else None,
    }
