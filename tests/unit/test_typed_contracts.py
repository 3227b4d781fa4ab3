"""The contracts faults and probes are written against: the Stack protocol, and Params bound from Fault[P]/Probe[P]."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from chaos.errors import StackError
from chaos.faults.base import FAULTS, Fault
from chaos.params import NoParams
from chaos.probes.base import PROBES, Measurement, Probe, ProbeContext
from chaos.stack.compose import ComposeStack
from chaos.stack.interface import Stack, TargetRef
from tests.fakes import FakeKill, FakeKillParams, FakeStack, FakeValue, FakeValueParams


def test_both_backends_are_stacks() -> None:
    assert isinstance(ComposeStack(project="entchaos-typing"), Stack)  # nothing asked of Docker
    assert isinstance(FakeStack.two_datacenters(), Stack)


def test_the_fake_stack_answers_what_it_can_and_says_what_it_cannot() -> None:
    stack = FakeStack.two_datacenters()
    assert [t.service for t in stack.targets()][:2] == ["edge", "rbx-app-1"]
    assert stack.services_by_label()["sbg-db"] == {"entchaos.datacenter": "sbg", "entchaos.role": "db",
                                                   "entchaos.chaos": "allowed"}
    for ask in (stack.edge_url, stack.edge_api, lambda: stack.published("sbg-db", 5432)):
        with pytest.raises(StackError, match="fake stack"):
            ask()


def test_params_is_the_generic_argument() -> None:
    assert FakeKill.Params is FakeKillParams and FakeValue.Params is FakeValueParams
    assert FakeKill({"sticky": True}).params.sticky is True
    for registry in (FAULTS, PROBES):
        for name in registry.names():
            cls = registry.get(name)
            assert issubclass(cls.Params, BaseModel), name
            assert cls.name == name


def test_a_class_without_an_argument_keeps_what_it_inherits() -> None:
    class Plain(Probe[NoParams]):
        def measure(self, ctx: ProbeContext) -> Measurement:
            return 1

    class Derived(FakeKill):
        pass

    assert Plain.Params is NoParams and Derived.Params is FakeKillParams


def test_a_params_that_contradicts_the_argument_is_refused() -> None:
    class Other(BaseModel):
        pass

    with pytest.raises(TypeError, match="generic in FakeKillParams"):
        class Wrong(Fault[FakeKillParams]):
            Params = Other


def test_the_journal_reference_keeps_who_not_how() -> None:
    target = FakeStack.two_datacenters().by_id("sbg-db")
    ref = TargetRef.of(target)
    assert TargetRef.from_dict(ref.to_dict()) == ref
    assert set(ref.to_dict()) == {"id", "name", "service", "datacenter", "role"}
