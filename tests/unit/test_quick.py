"""`quick:`: a runbook's own CI variant shortens durations and nothing else, each to at most its full value, and
is checked exactly as the full runbook is; every mistake in it is refused at load time with its file:line."""

from __future__ import annotations

import pytest

from chaos.errors import RunbookInvalid
from chaos.model import runbook as m
from chaos.model.loader import parse_runbook

RUNBOOK = """\
metadata: {name: quick-demo, description: a flood}
load: {profile: "constant:5", duration_s: 120}
hypothesis:
  probes: [{name: steady, probe: constant, params: {value: 1}, expect: {eq: 1}}]
  warmup_s: 20
  settle_s: 30
steps:
  - {id: flood, fault: flood, target: {role: app}, params: {rate: 100, for_s: 45, source: internet-abroad}}
  - {id: held, wait-for: constant, params: {value: 1}, until: {eq: 1}, timeout_s: 60}
verify:
  - {metric: x, expect: {lte: 5}}
"""
QUICK = """\
quick:
  load: {duration_s: 60}
  hypothesis: {warmup_s: 5}
  steps:
    flood: {params: {for_s: 20}}
    held: {timeout_s: 30}
"""


def load(text: str, quick: bool = True) -> m.Runbook:
    return parse_runbook(text, "quick-demo.yaml", quick=quick)


def test_the_quick_variant_is_shorter_and_checks_the_same() -> None:
    full, quick = load(RUNBOOK + QUICK, quick=False), load(RUNBOOK + QUICK)
    assert full.load is not None and quick.load is not None and quick.hypothesis is not None
    assert (quick.load.duration_s, quick.hypothesis.warmup_s, quick.hypothesis.settle_s) == (60, 5, 30)
    flood, held = quick.step("flood"), quick.step("held")
    assert isinstance(flood, m.FaultStep) and flood.params["for_s"] == 20 and flood.params["rate"] == 100
    assert isinstance(held, m.WaitForStep) and held.timeout_s == 30 and held.until == full.step("held").until
    assert quick.verify == full.verify and quick.stop_conditions == full.stop_conditions
    assert quick.quick is None and quick.metadata.description == "[quick variant] a flood"
    assert quick.name == full.name and full.step("flood").params["for_s"] == 45  # type: ignore[union-attr]


def test_without_a_quick_section_the_full_runbook_runs() -> None:
    assert load(RUNBOOK).load.duration_s == 120  # type: ignore[union-attr]


@pytest.mark.parametrize(("quick", "line", "message"), [
    ("quick:\n  hypothesis: {warmup_s: 25}\n", 13, "expected at most the full runbook's 20 s"),
    ("quick:\n  steps:\n    flood: {params: {rate: 10}}\n", 14, "expected a duration parameter"),
    ("quick:\n  steps:\n    nowhere: {timeout_s: 5}\n", 14, "expected the `id` of a step of this runbook"),
    ("quick:\n  verify: []\n", 13, "expected no field `verify` here"),
    ("quick:\n  steps:\n    held: {until: {eq: 2}}\n", 14, "expected no field `until` here"),
    ("quick:\n  steps:\n    held: {duration_s: 5}\n", 14, "expected a duration the full runbook sets"),
    ("quick:\n  steps:\n    flood: {params: {for_s: 0}}\n", 14, "quick variant: expected greater than 0"),
])
def test_a_quick_section_that_would_change_more_than_durations_is_refused(quick: str, line: int,
                                                                          message: str) -> None:
    with pytest.raises(RunbookInvalid) as exc:
        load(RUNBOOK + quick)
    text = exc.value.message
    assert f"quick-demo.yaml:{line}" in text and message in text, text


def test_the_full_runbook_is_checked_for_its_quick_section_even_when_run_in_full() -> None:
    with pytest.raises(RunbookInvalid, match="at most the full runbook's 20 s"):
        load(RUNBOOK + "quick:\n  hypothesis: {warmup_s: 25}\n", quick=False)

