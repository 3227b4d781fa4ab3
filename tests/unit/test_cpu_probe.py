"""cpu-utilisation: the busiest replica's CPU time over what it may use; a saturated one fails the bound."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chaos.probes import cpu
from chaos.probes.base import Measurement, ProbeContext
from tests.fakes import FakeStack, fake_target


class FakeContainer:
    """Burns `cores` of CPU per wall-clock second; `nano_cpus` is its limit (0: none)."""

    def __init__(self, cores: float, nano_cpus: int = 0) -> None:
        self.cores, self.used_ns = cores, 0
        self.attrs = {"HostConfig": {"NanoCpus": nano_cpus}}

    def stats(self, stream: bool, one_shot: bool) -> dict:
        usage = self.used_ns
        self.used_ns += int(self.cores * 0.1 * 1e9)  # 0.1 s of wall clock between the two samples
        return {"cpu_stats": {"cpu_usage": {"total_usage": usage}}}


def measure(monkeypatch, containers: dict[str, FakeContainer]) -> Measurement:
    client = SimpleNamespace(containers=SimpleNamespace(get=containers.__getitem__))
    stack = FakeStack(containers=[fake_target(i, i, "sbg", "app") for i in containers])
    times = iter([0.0, 0.1])
    monkeypatch.setattr(cpu, "docker_client", lambda: client)
    monkeypatch.setattr(cpu.time, "monotonic", lambda: next(times))
    return cpu.CpuUtilisation({"sample_s": 0.01}).measure(ProbeContext(stack=stack))


def test_the_busiest_replica_counts_against_its_own_limit(monkeypatch) -> None:
    idle = {"a": FakeContainer(0.05), "b": FakeContainer(0.10)}
    assert measure(monkeypatch, idle) == pytest.approx(0.10)
    capped = {"a": FakeContainer(0.05), "b": FakeContainer(0.25, nano_cpus=250_000_000)}
    assert measure(monkeypatch, capped) == pytest.approx(1.0)  # a quarter core, all used: saturated


def test_a_saturated_replica_breaks_the_runbooks_bound(monkeypatch) -> None:
    flooded = {"a": FakeContainer(0.97), "b": FakeContainer(0.4)}
    assert measure(monkeypatch, flooded) > 0.8  # flood-abroad verifies app_cpu_max <= 0.8
