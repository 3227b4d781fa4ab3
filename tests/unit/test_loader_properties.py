"""Property-based: generated runbooks (valid, mutated, hostile) and load profiles never raise anything but the
toolkit's own validation error (`InvalidInput`, `RunbookInvalid`), and every refusal names file:line.

Each test prints how many examples it tried (`pytest -s`); the README states the counts.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.errors import InvalidInput, RunbookInvalid
from chaos.limits import MAX_DURATION_S, MAX_RATE
from chaos.load import schedule as sch
from chaos.model import runbook as m
from chaos.model.loader import load_runbook, parse_runbook

SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), database=None)
TRIED: dict[str, int] = {}

numbers = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.sampled_from(["1", "abc", "", "1e9", ".inf"]), st.none())
scalars = st.one_of(numbers, st.text(max_size=20))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
FIELDS = {
    "fault": st.sampled_from(["kill", "pause", "flood", "partition", "packet-loss", "bandwidth", "nope"]),
    "target": st.one_of(st.fixed_dictionaries({"role": st.sampled_from(["app", "db", "x", ""])}), values),
    "params": st.one_of(st.fixed_dictionaries({}, optional={"rate": numbers, "signal": st.text(max_size=8),
                                                            "source": st.text(max_size=12), "percent": numbers}),
                        values),
    "duration_s": numbers, "count": numbers, "timeout_s": numbers, "interval_s": numbers,
    "wait-for": st.sampled_from(["load-availability", "constant", "nope"]), "until": values,
    "playbook": st.sampled_from(["edge-undrain", "nope"]), "extravars": values, "manual": st.text(max_size=10),
    "revert": st.text(max_size=10), "id": st.text(max_size=10),
}
steps = st.dictionaries(st.sampled_from(sorted(FIELDS)), st.just(None), min_size=1, max_size=5).flatmap(
    lambda keys: st.fixed_dictionaries({k: FIELDS[k] for k in keys}))
loads = st.fixed_dictionaries({}, optional={
    "profile": st.one_of(st.from_regex(r"(constant|ramp|surge|file|x):[-0-9.e:a-z/]{0,12}", fullmatch=True), values),
    "journeys": st.one_of(st.dictionaries(st.sampled_from(["pupil", "login", "hacker"]), numbers, max_size=3), values),
    "source": st.sampled_from(["host", "internet-fr", "moon"]), "duration_s": numbers, "sample_s": numbers})
runbooks = st.fixed_dictionaries({"metadata": st.fixed_dictionaries({"name": st.sampled_from(["t", "T!", ""])}),
                                  "steps": st.lists(steps, min_size=0, max_size=4)},
                                 optional={"load": loads, "verify": st.lists(values, max_size=2),
                                           "stop_conditions": st.lists(values, max_size=2), "extra": values})


def _only_our_error(text: str) -> None:
    try:
        runbook = parse_runbook(text, "gen.yaml")
    except RunbookInvalid as exc:
        assert (exc.exit_code == 2 and exc.message.startswith("gen.yaml:")) or "problems in the runbook" in exc.message
        assert len(exc.message) < 20_000
    else:
        assert isinstance(runbook, m.Runbook)


def _count(name: str) -> None:
    TRIED[name] = TRIED.get(name, 0) + 1


@SETTINGS
@given(runbooks)
def test_generated_runbooks(doc: dict) -> None:
    _count("generated runbooks")
    _only_our_error(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@SETTINGS
@given(runbooks, st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 20), st.text(max_size=6)), max_size=4))
def test_mutated_runbooks(doc: dict, edits: list[tuple[int, int, str]]) -> None:
    """Cut, insert, duplicate: YAML syntax errors, duplicate keys, aliases, tabs, control characters."""
    _count("mutated runbooks")
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    for at, cut, insert in edits:
        at %= len(text) + 1
        text = text[:at] + insert + text[at + cut:]
    _only_our_error(text)


HOSTILE_BITS = ["&a [1,2,3]", "*a", "<<: *a", "[[[[[[", "{a: 1, a: 2}", "!!python/object:os.system", "\t", "\x00",
                "\ufeff", "? [a]\n: b", "--- \n", "%YAML 1.1\n---\n", ".nan", "1e+999", "2021-13-45", "|\n  x"]


@SETTINGS
@given(st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), st.text(max_size=10)), max_size=20))
def test_hostile_fragments(parts: list[str]) -> None:
    _count("hostile fragments")
    _only_our_error("metadata: {name: t}\n" + "\n".join(parts))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_from_a_file(tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _count("arbitrary bytes from a file")
    path = tmp_path_factory.mktemp("rb") / "rb.yaml"
    path.write_bytes(data)
    try:
        load_runbook(path)
    except RunbookInvalid as exc:
        assert exc.exit_code == 2 and str(path) in exc.message


specs = st.one_of(st.text(max_size=30), st.builds(lambda kind, nums: f"{kind}:{':'.join(nums)}",
                                                  st.sampled_from(["constant", "ramp", "surge", "file", "sine"]),
                                                  st.lists(st.one_of(st.floats().map(repr), st.text(max_size=5),
                                                                     st.integers(-10**15, 10**15).map(str)),
                                                           max_size=5)))


@settings(max_examples=1000, deadline=None, database=None)
@given(specs)
def test_profile_specs(spec: str) -> None:
    _count("profile specs")
    try:
        parsed = sch.parse_spec(spec)
    except InvalidInput as exc:
        assert exc.exit_code == 2 and len(exc.message) < 500
        return
    for value in parsed.numbers:
        assert math.isfinite(value) and 0 <= value <= max(MAX_RATE, MAX_DURATION_S)
    if parsed.kind != "file":
        schedule = sch.from_spec(spec, 10.0)
        assert schedule.expected_count() >= 0


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.one_of(values, st.fixed_dictionaries({"points": values}, optional={"poisson": values,
                                                                                "duration_s": numbers,
                                                                                "max_requests": numbers})))
def test_profile_files(tmp_path_factory, data: object) -> None:  # type: ignore[no-untyped-def]
    _count("profile files")
    path: Path = tmp_path_factory.mktemp("p") / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    try:
        schedule = sch.load_profile(path)
    except InvalidInput as exc:
        assert exc.exit_code == 2
        return
    assert all(math.isfinite(r) and 0 <= r <= MAX_RATE for _, r in schedule.points)


def test_zz_report_the_counts() -> None:
    """Runs last in this module: how many examples each property tried (the README's figure)."""
    print("\nhypothesis examples tried: " + ", ".join(f"{k} {v}" for k, v in TRIED.items())
          + f"; total {sum(TRIED.values())}")
