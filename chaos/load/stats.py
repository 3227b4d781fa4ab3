"""Latency and outcome statistics: HDR histograms per class and per journey step, a per-second series.

The hot path does not call `HdrHistogram.record_value` (about 2 µs in pure Python, paid three times per
response): it computes the HDR bucket index once with the library's own formula and bumps plain counters.
Counters become real `HdrHistogram` objects when somebody asks (percentiles, export), so every figure still
comes from hdrhistogram with its precision guarantee (3 significant digits).

Seconds are keyed by the *intended* send time: "availability during the fault" means "of the requests users
tried to make in that window, how many were served", whatever happened to them afterwards.
"""

from __future__ import annotations

import json
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


class Second:
    """One second of intended send times: counts by (read|write, class) and sparse latency counters by class."""

    __slots__ = ("counts", "hists")

    def __init__(self) -> None:
        self.counts = [0] * (2 * N_CLASSES)  # [read classes..., write classes...]
        self.hists: list[dict[int, int]] = [{} for _ in range(N_CLASSES)]


@dataclass
class Window:
    """Everything recorded for intended send times in [start_s, end_s)."""

    start_s: float
    end_s: float
    reads: list[int] = field(default_factory=lambda: [0] * N_CLASSES)
    writes: list[int] = field(default_factory=lambda: [0] * N_CLASSES)
    hists: list[dict[int, int]] = field(default_factory=lambda: [{} for _ in range(N_CLASSES)])

    @property
    def total(self) -> int:
        return sum(self.reads) + sum(self.writes)

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
        self.seconds: dict[int, Second] = {}
        self.totals = [0] * N_CLASSES
        self._last_sec: int | None = None  # cache of the Second last recorded into
        self._last_second = Second()

    def step_id(self, name: str) -> int:
        """Register a journey step once, before the run; `record` takes the returned int."""
        if name in self.steps:
            return self.steps.index(name)
        self.steps.append(name)
        self.step_hists.append([0] * COUNTS_LEN)
        self.step_class.append([0] * N_CLASSES)
        return len(self.steps) - 1

    def record(self, step: int, cls: int, is_write: bool, intended: float, done_at: float) -> None:
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
        sec = int(intended - self.start)
        if sec == self._last_sec:  # answers mostly arrive in intended order: skip the dict lookup
            second = self._last_second
        else:
            second = self.seconds.get(sec)
            if second is None:
                second = self.seconds[sec] = Second()
            self._last_sec, self._last_second = sec, second
        second.counts[cls + N_CLASSES if is_write else cls] += 1
        h = second.hists[cls]
        h[idx] = h.get(idx, 0) + 1

    # readers -----------------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return sum(self.totals)

    def window(self, start_s: float = 0.0, end_s: float = float("inf")) -> Window:
        """Merge the seconds whose intended start lies in [start_s, end_s), offsets from the run start."""
        w = Window(start_s, end_s)
        for sec, s in list(self.seconds.items()):  # snapshot: a load thread may be adding seconds
            if start_s <= sec < end_s or (sec < start_s < sec + 1 and end_s > start_s):
                for i in range(N_CLASSES):
                    w.reads[i] += s.counts[i]
                    w.writes[i] += s.counts[i + N_CLASSES]
                    if s.hists[i]:
                        dst = w.hists[i]
                        for idx, n in list(s.hists[i].items()):
                            dst[idx] = dst.get(idx, 0) + n
        return w

    def offset_of(self, unix_time: float) -> float:
        """Offset (s from the run start) of a wall-clock instant, e.g. a fault's injection time."""
        return unix_time - self.start_unix

    def class_histogram(self, cls: int | str) -> HdrHistogram:
        i = CLASSES.index(cls) if isinstance(cls, str) else cls
        return to_hdr(self.class_counts[i])

    def step_histogram(self, name: str) -> HdrHistogram:
        return to_hdr(self.step_hists[self.steps.index(name)])

    def series(self) -> list[dict[str, Any]]:
        """One row per second of intended send time."""
        rows = []
        for sec in sorted(self.seconds):
            s = self.seconds[sec]
            w = Window(sec, sec + 1, s.counts[:N_CLASSES], s.counts[N_CLASSES:], s.hists)
            h = w.histogram()
            rows.append(
                {
                    "type": "second",
                    "t": sec,
                    "unix": round(self.start_unix + sec, 3),
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
        """Everything the windows need (per-second counts and sparse latency counters), as plain JSON: how a
        generator in a client container shows its live statistics to the engine on the host."""
        seconds = {}
        for sec, s in list(self.seconds.items()):  # snapshot: the event loop may be adding seconds
            hists = [{str(k): v for k, v in h.items()} for h in s.hists]
            seconds[str(sec)] = {"counts": list(s.counts), "hists": hists}
        return {"start_unix": self.start_unix, "seconds": seconds}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> LoadStats:
        stats = cls(start=0.0, start_unix=float(data["start_unix"]))
        for sec, row in data["seconds"].items():
            second = stats.seconds[int(sec)] = Second()
            second.counts = [int(c) for c in row["counts"]]
            second.hists = [{int(k): int(v) for k, v in h.items()} for h in row["hists"]]
            for i in range(N_CLASSES):
                stats.totals[i] += second.counts[i] + second.counts[i + N_CLASSES]
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
