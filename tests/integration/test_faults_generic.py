"""Every generic fault, injected and reverted for real on a compose project that is not the ENT stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.errors import UnsupportedFault
from chaos.faults.base import FAULTS, FaultContext, FaultRecord, TargetRef
from chaos.probes.http import HttpExpectation, http_get
from chaos.stack.compose import ComposeStack
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import run_in_netns
from tests.integration.conftest import compose_stack

pytestmark = pytest.mark.docker



@pytest.fixture(scope="module")
def tiny() -> Iterator[ComposeStack]:
    with compose_stack("entchaos-tiny") as stack:
        yield stack


def inject(stack: ComposeStack, name: str, labels: dict, params: dict | None = None):
    fault = FAULTS.get(name)(params or {})
    fault.check_supported(stack)
    targets = stack.select(labels)
    assert targets, f"no target for {labels}"
    record = FaultRecord(fault=name, step_id="test", targets=tuple(TargetRef.of(t) for t in targets),
                         params=params or {})
    record = record.with_state(**fault.prepare(FaultContext(stack, record)))
    record = fault.inject(FaultContext(stack, record))
    return fault, record


def revert(stack: ComposeStack, fault, record) -> None:
    fault.revert(FaultContext(stack, record), record)


def status(stack: ComposeStack, service: str) -> str:
    return docker_client().containers.get(stack.container_of(service).id).status


def reachable_from_shopper(stack: ComposeStack, host: str) -> bool:
    shopper = stack.container_of("shopper")
    # nettools has no curl: a TCP connect through bash's /dev/tcp, bounded by timeout.
    exit_code, _ = docker_client().containers.get(shopper.id).exec_run(
        ["timeout", "2", "bash", "-c", f"exec 3<>/dev/tcp/{host}/80"]
    )
    return exit_code == 0


def test_the_labels_make_a_foreign_project_a_target(tiny):
    assert [t.service for t in tiny.select({"role": "app"})] == ["web-east", "web-west"]
    assert tiny.select({"role": "client"}) == []  # not chaos-allowed
    host, port = tiny.published("web-west", 80)
    assert HttpExpectation(status=200, header="X-ENT-Fallback").failures(http_get(f"http://{host}:{port}/")) == []


def test_kill_then_revert(tiny):
    fault, record = inject(tiny, "kill", {"datacenter": "east"})
    assert status(tiny, "web-east") == "exited"
    revert(tiny, fault, record)
    assert status(tiny, "web-east") == "running"
    revert(tiny, fault, record)  # idempotent


def test_pause_then_revert(tiny):
    fault, record = inject(tiny, "pause", {"service": "web-west"})
    assert status(tiny, "web-west") == "paused"
    revert(tiny, fault, record)
    assert status(tiny, "web-west") == "running"


def test_partition_cuts_both_ways_and_heals(tiny):
    assert reachable_from_shopper(tiny, "web-east")
    fault, record = inject(tiny, "partition", {"datacenter": "east"}, {"network": "front"})
    assert status(tiny, "web-east") == "running", "a partition leaves the containers running"
    assert not reachable_from_shopper(tiny, "web-east")
    revert(tiny, fault, record)
    assert reachable_from_shopper(tiny, "web-east")


def test_bandwidth_then_revert(tiny):
    target = tiny.container_of("web-west").id
    fault, record = inject(tiny, "bandwidth", {"service": "web-west"}, {"rate_kbit": 256})
    assert "tbf" in run_in_netns(target, "tc qdisc show")
    revert(tiny, fault, record)
    assert "tbf" not in run_in_netns(target, "tc qdisc show")


def test_packet_loss_then_revert(tiny):
    target = tiny.container_of("web-west").id
    fault, record = inject(tiny, "packet-loss", {"service": "web-west"}, {"percent": 30})
    assert run_in_netns(target, "iptables-save").count("entchaos-packet-loss") == 2
    revert(tiny, fault, record)
    assert "entchaos-packet-loss" not in run_in_netns(target, "iptables-save")


def test_latency_is_refused_before_anything_when_the_kernel_lacks_netem(tiny):
    from chaos.stack.netns import qdisc_supported

    if qdisc_supported("netem"):
        pytest.skip("this kernel has netem: the refusal cannot be shown here")
    with pytest.raises(UnsupportedFault, match="netem"):
        FAULTS.get("latency")({"delay_ms": 50, "mode": "netem"}).check_supported(tiny)
