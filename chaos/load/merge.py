"""Several generators' statistics as one series: the load of a fleet's load generators, started together.

Generators started at the same instant (`LoadSpec.start_at`) share their 100 ms ticks: a tick of the merged
series holds the sum of theirs (counts, latency counters, journeys), never an average, so every window, rate
and percentile of the merged series is what one generator sending all of it would have measured. A generator
whose start differs is shifted by whole ticks (its offset rounded to 100 ms, said in the result).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from chaos.load.ledger import WriteLedger
from chaos.load.stats import N_CLASSES, TICKS_PER_S, LoadStats, Tick


def _add(into: Tick, tick: Tick) -> None:
    into.counts = [a + b for a, b in zip(into.counts, tick.counts, strict=True)]
    for mine, theirs in zip(into.hists, tick.hists, strict=True):
        for index, count in theirs.items():
            mine[index] = mine.get(index, 0) + count
    into.journeys = [a + b for a, b in zip(into.journeys, tick.journeys, strict=True)]
    into.sent += tick.sent


def merge_stats(parts: Sequence[LoadStats]) -> tuple[LoadStats, list[int]]:
    """The merged statistics, and each part's shift in ticks (0 when it started with the earliest)."""
    if not parts:
        return LoadStats(start=0.0), []
    origin = min(p.start_unix for p in parts)
    merged = LoadStats(start=0.0, start_unix=origin)
    shifts = []
    for part in parts:
        shift = round((part.start_unix - origin) * TICKS_PER_S)
        shifts.append(shift)
        for k, tick in list(part.ticks.items()):  # a copy: a reader may be adding ticks
            into = merged.ticks.get(k + shift)
            if into is None:
                into = merged.ticks[k + shift] = Tick()
            _add(into, tick)
    for tick in merged.ticks.values():
        for i in range(N_CLASSES):
            merged.totals[i] += tick.counts[i] + tick.counts[i + N_CLASSES]
    return merged, shifts


def merge_ledgers(ledgers: Mapping[str, WriteLedger]) -> WriteLedger:
    """Every generator's acknowledged writes in one ledger (their keys are drawn apart: uuid4 per process)."""
    merged = WriteLedger()
    for ledger in ledgers.values():
        merged.attempts.update(ledger.attempts)
    return merged
