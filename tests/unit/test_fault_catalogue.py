"""`entchaos faults`: every fault listed with its parameters and needs; what "supported here" says."""

from __future__ import annotations

import re

import pytest

from chaos.cli import main
from chaos.faults.base import FAULTS
from chaos.faults.catalogue import Entry, Need, catalogue, needs_of, render


def test_every_fault_is_listed_with_its_parameters_and_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults", "--no-try"]) == 0
    out = capsys.readouterr().out
    for name in FAULTS.names():
        assert f"\n{name}" in f"\n{out}", name
    assert "method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | None = None" in out
    assert "destroy_data: list[str] = []" in out
    assert "iptables' nat REDIRECT (xt_REDIRECT) (mode proxy); the netem qdisc (sch_netem) (mode netem)" in out
    assert "rate_kbit: int (required)" in out


def test_what_supported_here_says() -> None:
    def entry(*needs: Need) -> Entry:
        return Entry("f", "", ("compose",), (), needs, False)

    assert entry().verdict_here == "yes"
    assert entry(Need("tbf", None, True)).verdict_here == "yes"
    assert entry(Need("tbf", None, False)).verdict_here == "no: lacks the tbf qdisc (sch_tbf)"
    assert entry(Need("iptables-redirect", "mode proxy", True),
                 Need("netem", "mode netem", False)).verdict_here == "mode proxy: yes; mode netem: no"
    assert entry(Need("iptables", "on hosts", None)).verdict_here == "yes"  # tried on the hosts, at run time
    assert entry(Need("tbf", None, None)).verdict_here == "unknown (no Docker engine to try it)"


def test_a_need_is_a_known_capability_with_an_optional_condition() -> None:
    for name in FAULTS.names():
        for need in needs_of(FAULTS.get(name), try_here=False):
            assert need.describe(), name
    bad = type("Bad", (FAULTS.get("kill"),), {"needs": ("NetEm!",)})
    with pytest.raises(ValueError, match="not `name` or `name \\(when\\)`"):
        needs_of(bad, try_here=False)


def test_the_table_renders_without_trying_anything() -> None:
    text = render(catalogue(try_here=False))
    assert "here:      not tried (--no-try)" in text and "datacenter-fire (destructive)" in text


def test_clock_skew_is_refused_everywhere_with_its_reason() -> None:
    from chaos.errors import UnsupportedFault

    skew = FAULTS.get("clock-skew")({"offset_s": 30.0})
    with pytest.raises(UnsupportedFault, match="time namespaces offset only the monotonic and boot clocks"):
        skew.check_supported(None)  # type: ignore[arg-type]
    entry = next(e for e in catalogue(try_here=False) if e.name == "clock-skew")
    assert entry.verdict_here.startswith("no, anywhere: clock-skew cannot move one container's wall clock")


@pytest.mark.parametrize("name", ["nginx: worker", "a" * 16, "", "$(reboot)"])
def test_a_process_name_is_what_the_kernel_could_call_a_process(name: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        FAULTS.get("process-kill")({"process": name})


@pytest.mark.parametrize(("params", "error"), [
    ({"delay_ms": 100}, "mode proxy delays one port: name it"),
    ({"delay_ms": 100, "mode": "netem", "port": 80}, "`port` is for mode proxy"),
    ({"delay_ms": 100, "port": 80, "network": "front"}, "`network` is for mode netem"),
    ({"delay_ms": 10, "jitter_ms": 20, "port": 80}, "a delay is never negative"),
])
def test_latency_parameters_say_what_each_mode_takes(params: dict, error: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=error):
        FAULTS.get("latency")(params)


@pytest.mark.parametrize(("fault", "params", "error"), [
    ("http-fault", {"port": 80}, "nothing to inject"),
    ("http-fault", {"port": 80, "status": 503, "delay_ms": 10}, "not both"),
    ("dns", {"mode": "answer"}, "mode answer needs `address`"),
    ("dns", {"address": "10.0.0.1"}, "`address` is for mode answer"),
    ("dns", {"names": "-bad-"}, "String should match pattern"),
    ("disk-fill", {"path": "/data"}, "give `size_mb` or `percent`"),
    ("disk-fill", {"path": "/data/../etc", "size_mb": 1}, "no `..`"),
])
def test_fault_parameters_are_refused_with_what_to_do(fault: str, params: dict, error: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=re.escape(error)):
        FAULTS.get(fault)(params)
