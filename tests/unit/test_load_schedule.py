"""Schedules: shapes, bounds, profiles from data."""

from __future__ import annotations

import itertools
import json

import pytest

from chaos.errors import InvalidInput
from chaos.load import schedule as sch


def _per_second(offsets: list[float], seconds: int) -> list[int]:
    counts = [0] * seconds
    for t in offsets:
        counts[int(t)] += 1
    return counts


def test_constant_is_evenly_spaced() -> None:
    offs = list(sch.constant(100, 2).offsets())
    assert len(offs) == 200
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(offs)}
    assert gaps == {0.01}


def test_ramp_rate_grows_linearly() -> None:
    offs = list(sch.ramp(0, 400, 4).offsets())
    assert len(offs) == pytest.approx(800, abs=1)
    # mean rate in second k of a 0->400 ramp over 4 s is 100k + 50
    assert _per_second(offs, 4) == pytest.approx([50, 150, 250, 350], abs=1)


def test_step_surge_jumps_and_comes_back() -> None:
    s = sch.step_surge(10, 200, surge_at_s=2, surge_for_s=1, duration_s=4)
    assert _per_second(list(s.offsets()), 4) == pytest.approx([10, 10, 200, 10], abs=1)
    assert s.rate_at(2.5) == 200 and s.rate_at(3.5) == 10


def test_profile_interpolates_and_loads_from_yaml_and_json(tmp_path) -> None:
    y = tmp_path / "p.yaml"
    y.write_text("points:\n  - [0, 100]\n  - [2, 100]\n  - [3, 300]\n")
    s = sch.load_profile(y)
    assert s.rate_at(2.5) == pytest.approx(200)
    assert _per_second(list(s.offsets()), 3) == pytest.approx([100, 100, 200], abs=1)
    j = tmp_path / "p.json"
    j.write_text(json.dumps([[0, 5], [10, 5]]))
    assert len(list(sch.load_profile(j).offsets())) == 50


def test_bounds_cut_the_schedule() -> None:
    assert len(list(sch.constant(1000, 10, max_requests=37).offsets())) == 37
    offs = list(sch.profile([[0, 100], [60, 100]], duration_s=1.5).offsets())
    assert len(offs) == 150 and max(offs) < 1.5


def test_poisson_has_the_right_mean() -> None:
    n = len(list(sch.constant(1000, 5, poisson=True).offsets()))
    assert 4700 < n < 5300


def test_cli_specs_and_bad_input() -> None:
    assert sch.from_spec("surge:1:2:3:4", 10).rate_at(3.5) == 2
    for bad in ("nope:1", "constant:x", "ramp:1"):
        with pytest.raises(InvalidInput):
            sch.from_spec(bad, 10)
    with pytest.raises(InvalidInput):
        sch.profile([[1, 5], [0, 5]])
    with pytest.raises(InvalidInput):
        sch.constant(-1, 5)
