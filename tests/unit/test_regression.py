"""Regression against a baseline: tolerances parsed from runbook values, and which way each figure gets worse."""

import pytest

from chaos.gate.regression import compare
from chaos.model.regression_tolerance import RegressionTolerance, parse_tolerance, worse_direction


@pytest.mark.parametrize(("metric", "worse"), [
    ("rto_s", "higher"), ("baseline_p95_ms", "higher"), ("lost_acked_writes", "higher"), ("fire.outage_s", "higher"),
    ("recovered_p95_ratio", "higher"), ("during_stable_p95_ratio_to_baseline", "higher"),
    ("impact_availability", "lower"), ("baseline_rps", "lower"), ("goodput_ratio", "lower"),
    ("after_recovered_availability", "lower"), ("capacity_rps", "lower"),
])
def test_which_way_a_figure_gets_worse(metric: str, worse: str) -> None:
    assert worse_direction(metric) == worse


def test_tolerances_parse_percentages_amounts_and_explicit_directions() -> None:
    assert parse_tolerance("20%") == RegressionTolerance(relative=0.2)
    assert parse_tolerance(" 2.5 % ") == RegressionTolerance(relative=0.025)
    assert parse_tolerance(0) == RegressionTolerance(absolute=0.0)
    assert parse_tolerance(1.5) == RegressionTolerance(absolute=1.5)
    assert parse_tolerance({"by": "5%", "worse": "lower"}) == RegressionTolerance(relative=0.05, worse="lower")


@pytest.mark.parametrize("bad", ["20", "twenty %", "-5%", -1, True, None, {"by": "5%", "worse": "up"},
                                 {"worse": "lower"}, float("nan"), {"by": 1, "extra": 2}])
def test_a_bad_tolerance_says_what_was_expected(bad: object) -> None:
    with pytest.raises(ValueError, match=r"percentage|finite|worse|by:"):
        parse_tolerance(bad)


def test_a_time_that_grows_beyond_its_tolerance_regresses_with_both_values_in_the_message() -> None:
    [c] = compare({"rto_s": 10.0}, {"rto_s": 12.5}, {"rto_s": parse_tolerance("20%")})
    assert c.regressed and c.worsened_by == pytest.approx(2.5)
    assert c.message() == "rto_s: 10.0 s -> 12.5 s (+25.0 %), tolerance +20.0 %: worse than allowed"
    [ok] = compare({"rto_s": 10.0}, {"rto_s": 11.9}, {"rto_s": parse_tolerance("20%")})
    assert not ok.regressed and "within tolerance" in ok.message()
    [better] = compare({"rto_s": 10.0}, {"rto_s": 3.0}, {"rto_s": parse_tolerance("20%")})
    assert not better.regressed and better.worsened_by == pytest.approx(-7.0)


def test_an_availability_regresses_when_it_drops_not_when_it_rises() -> None:
    tol = {"impact_availability": parse_tolerance("1%")}
    assert compare({"impact_availability": 0.95}, {"impact_availability": 0.93}, tol)[0].regressed
    assert not compare({"impact_availability": 0.95}, {"impact_availability": 0.99}, tol)[0].regressed
    assert not compare({"impact_availability": 0.95}, {"impact_availability": 0.941}, tol)[0].regressed


def test_zero_tolerance_on_lost_writes_fails_on_one_write() -> None:
    tol = {"lost_acked_writes": parse_tolerance(0)}
    assert not compare({"lost_acked_writes": 0}, {"lost_acked_writes": 0}, tol)[0].regressed
    [c] = compare({"lost_acked_writes": 0}, {"lost_acked_writes": 1}, tol)
    assert c.regressed and c.message() == "lost_acked_writes: 0 -> 1, tolerance +0: worse than allowed"


def test_a_metric_missing_from_the_run_regresses_and_one_missing_from_the_baseline_does_not() -> None:
    tol = {"rto_s": parse_tolerance("20%")}
    missing = compare({"rto_s": 10.0}, {}, tol)[0]
    assert missing.regressed and "missing from this run" in missing.message()
    new = compare({}, {"rto_s": 10.0}, tol)[0]
    assert not new.regressed and "not in the baseline" in new.message()
