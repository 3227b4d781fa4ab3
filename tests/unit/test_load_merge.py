"""Merging the series of generators started together: tick by tick, counts and latency counters summed."""

from __future__ import annotations

import random

from chaos.load.classify import APP, CLASSES
from chaos.load.ledger import WriteLedger
from chaos.load.merge import merge_ledgers, merge_stats
from chaos.load.stats import LoadStats


def generator(seed: int, start_unix: float, n: int = 2000, delay_ms: float = 20.0) -> LoadStats:
    """One generator's answers: `n` over 10 s, every one app-served after about `delay_ms` (a few failed)."""
    rng = random.Random(seed)
    stats = LoadStats(start=0.0, start_unix=start_unix)
    step = stats.step_id("login")
    for _ in range(n):
        intended = rng.uniform(0, 10)
        cls = APP if rng.random() > 0.02 else CLASSES.index("timeout")
        stats.record(step, cls, False, intended, intended + rng.expovariate(1000 / delay_ms))
    return stats


def test_two_generators_add_up_to_one_sending_everything() -> None:
    a, b = generator(1, 1000.0), generator(2, 1000.0, n=1000, delay_ms=60)
    merged, shifts = merge_stats([a, b])
    assert shifts == [0, 0]
    whole, left, right = merged.window(2, 8), a.window(2, 8), b.window(2, 8)
    assert whole.total == left.total + right.total
    assert whole.by_class() == {k: left.by_class()[k] + right.by_class()[k] for k in whole.by_class()}
    # The percentile of the merged histogram, not an average of the two generators' percentiles.
    together = left.histogram()
    together.add(right.histogram())
    assert whole.percentile_ms(95) == together.get_value_at_percentile(95) / 1000
    assert left.percentile_ms(95) < whole.percentile_ms(95) < right.percentile_ms(95)


def test_a_generator_that_started_later_is_shifted_by_whole_ticks() -> None:
    a, b = generator(1, 1000.0), generator(2, 1000.3)
    merged, shifts = merge_stats([a, b])
    assert shifts == [0, 3]
    assert merged.window(0.3, 0.4).total == a.window(0.3, 0.4).total + b.window(0.0, 0.1).total


def test_ledgers_are_united() -> None:
    one, two = WriteLedger(), WriteLedger()
    one.attempt("k1", 1.0)
    two.attempt("k2", 2.0)
    assert sorted(merge_ledgers({"a": one, "b": two}).attempts) == ["k1", "k2"]
