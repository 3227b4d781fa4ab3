"""Every generic fault proves its effect for real, then proves its revert; and a check that must say "not there" does.

On the small non-ENT project (tests/integration/tiny) and, for the client-process faults, a smaller one still
(an nginx answering as `edge` and a client container on `internet-abroad`), written here. Each check's evidence is
logged (`fault_effect_seen`), so a run with `-s` shows the measured figures.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chaos.errors import FaultError
from chaos.faults.disk_fill import in_target_files, space
from chaos.log import get_logger
from chaos.stack import containers, fault_proxy
from chaos.stack.compose import ComposeStack
from chaos.stack.docker_api import docker_client
from chaos.stack.netns import run_in_netns
from tests.integration.conftest import compose_stack
from tests.integration.fault_util import Injected

pytestmark = pytest.mark.docker
log = get_logger(__name__)


CLIENTS = """\
services:
  portal:
    image: entchaos/fallback:latest
    pull_policy: never
    labels: {entchaos.datacenter: national, entchaos.role: app, entchaos.chaos: allowed}
    networks: {abroad: {aliases: [edge]}}
  abroad:
    image: entchaos/client:latest
    pull_policy: never
    init: true
    labels: {entchaos.datacenter: internet-abroad, entchaos.role: client}
    networks: [abroad]
networks:
  abroad:
"""


@pytest.fixture(scope="module")
def tiny() -> Iterator[ComposeStack]:
    with compose_stack("entchaos-effects") as stack:
        yield stack


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    compose = tmp_path_factory.mktemp("clients") / "compose.yaml"
    compose.write_text(CLIENTS)
    with compose_stack("entchaos-clients", compose) as stack:
        yield stack


def test_kill_is_seen_stopped_then_running(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "kill", {"datacenter": "east"})
    effect = hit.check("injected")
    assert effect.verified and effect.evidence["states"] == {"web-east": "exited"}
    hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["states"] == {"web-east": "running"}


def test_pause_is_seen_paused_then_running(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "pause", {"service": "web-west"})
    assert hit.check("injected").evidence["states"] == {"web-west": "paused"}
    hit.revert()
    assert hit.check("reverted").verified


def test_partition_connects_fail_both_ways_then_work_again(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "partition", {"datacenter": "east"}, {"network": "front"})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-east"]
        assert seen["before"]["to_peer"]["ok"] and seen["before"]["from_peer"]["ok"], "the probe works before"
        assert not seen["to_peer"]["ok"] and not seen["from_peer"]["ok"]
        assert effect.verified and effect.evidence["peer"] in ("shopper", "web-west")
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified, reverted.evidence
    again = reverted.evidence["targets"]["web-east"]
    assert again["to_peer"]["ok"] and again["from_peer"]["ok"]


def test_a_partition_undone_behind_its_back_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "partition", {"datacenter": "east"}, {"network": "front"})
    try:
        for container_id, aliases in hit.record.state["aliases"].items():  # someone reconnects it by hand
            containers.connect(container_id, hit.record.state["network"], aliases=aliases or None)
        effect = hit.check("injected")
        assert not effect.verified
        assert effect.evidence["targets"]["web-east"]["to_peer"]["ok"]
    finally:
        hit.revert()
    assert hit.check("reverted").verified


def test_bandwidth_measured_at_most_1_2x_the_cap_then_well_above(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "bandwidth", {"service": "web-west"}, {"rate_kbit": 256})
    try:
        effect = hit.check("injected")
        measured = effect.evidence["targets"]["web-west"]
        assert effect.verified and measured["kbit_s"] <= 1.2 * 256
        assert measured["kbit_s"] >= 0.5 * 256, "a cap is a cap, not a cut"
        assert measured["bytes"] >= 64_000 and measured["tbf_present"]
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    after = reverted.evidence["targets"]["web-west"]
    assert reverted.verified and after["kbit_s"] > 2 * 256 and not after["tbf_present"]


@pytest.mark.parametrize("percent", [30, 50])
def test_packet_loss_measured_within_5_points_then_near_zero(tiny: ComposeStack, percent: int) -> None:
    hit = Injected(tiny, "packet-loss", {"service": "web-west"}, {"percent": percent})
    try:
        effect = hit.check("injected")
        measured = effect.evidence["targets"]["web-west"]
        assert effect.verified, effect.evidence
        assert abs(measured["loss_out"] - percent / 100) <= 0.05 and abs(measured["loss_in"] - percent / 100) <= 0.05
        assert effect.evidence["one_sd"] * 4 < 0.05  # 5 points is several standard deviations
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and max(reverted.evidence["targets"]["web-west"]["losses"]) <= 0.02


def test_packet_loss_on_one_port_measured_by_round_trips(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "packet-loss", {"service": "web-west"}, {"percent": 30, "peer_port": 80})
    try:
        effect = hit.check("injected")
        assert effect.verified, effect.evidence
        measured = effect.evidence["targets"]["web-west"]
        assert measured["tried"] == 2000 and 0.4 < measured["round_trip_loss"] < 0.6  # 1 - 0.7²
    finally:
        hit.revert()
    assert hit.check("reverted").verified


def test_packet_loss_asked_at_50_against_no_rule_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "packet-loss", {"service": "web-west"}, {"percent": 50}, apply=False)
    effect = hit.check("injected")
    assert not effect.verified
    assert max(effect.evidence["targets"]["web-west"]["losses"]) <= 0.02


def test_bandwidth_with_no_shaping_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "bandwidth", {"service": "web-west"}, {"rate_kbit": 256}, apply=False)
    effect = hit.check("injected")
    assert not effect.verified and effect.evidence["targets"]["web-west"]["ratio"] > 2


def test_a_kill_that_never_landed_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "kill", {"service": "web-west"}, apply=False)
    effect = hit.check("injected")
    assert not effect.verified and effect.evidence["states"] == {"web-west": "running"}
    assert effect.evidence["waited_s"] >= 14  # it looked until its deadline before saying no


def test_datacenter_fire_containers_and_volumes_gone_then_rebuilt(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "datacenter-fire", {"datacenter": "east"})
    effect = hit.check("injected")
    assert effect.verified, effect.evidence
    assert effect.evidence["containers"] == {"web-east": "gone"}
    assert effect.evidence["volumes_left"] == [] and len(effect.evidence["volumes_destroyed"]) == 1
    tiny.up()  # the rebuild step of this project: compose brings back what burned
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["services"] == {"web-east": "running"}


def test_flood_counts_its_own_requests_then_is_gone(clients: ComposeStack) -> None:
    hit = Injected(clients, "flood", {"role": "app"}, {"rate": 50, "for_s": 60, "connections": 16})
    try:
        effect = hit.check("injected")
        assert effect.verified, effect.evidence
        assert effect.evidence["requests_done"] > 0 and effect.evidence["alive"]
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["processes"] == []


def test_slow_clients_hold_connections_then_are_gone(clients: ComposeStack) -> None:
    hit = Injected(clients, "slow-clients", {"role": "app"}, {"connections": 20, "for_s": 60})
    try:
        effect = hit.check("injected")
        assert effect.verified, effect.evidence
        assert 0 < effect.evidence["established"] <= 20
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["processes"] == []


def test_a_flood_that_is_not_running_is_not_verified(clients: ComposeStack) -> None:
    hit = Injected(clients, "flood", {"role": "app"}, {"rate": 50, "for_s": 60}, apply=False)
    effect = hit.check("injected")
    assert not effect.verified and not effect.evidence["alive"] and effect.evidence["processes"] == []


def assert_no_proxy_left(stack: ComposeStack, service: str) -> None:
    """No REDIRECT left in the target's namespace and no proxy helper left anywhere."""
    assert fault_proxy.redirected_ports(stack.container_of(service).id) == []
    assert fault_proxy.leftovers() == []


def test_latency_through_the_proxy_needs_no_netem(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "latency", {"service": "web-west"}, {"delay_ms": 200, "jitter_ms": 20, "port": 80})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-west"]
        assert effect.verified and 160 <= seen["added_ms"] <= 400, seen
        assert seen["redirected_ports"] == [80] and seen["proxy_counts"]["connections"] >= 20
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["targets"]["web-west"]["added_ms"] < 100, reverted.evidence
    assert_no_proxy_left(tiny, "web-west")


@pytest.mark.parametrize("params", [
    {"port": 80, "status": 503, "percent": 50},
    {"port": 80, "status": 500, "path_prefix": "/status", "method": "GET"},
    {"port": 80, "abort_percent": 30},
    {"port": 80, "delay_ms": 300},
], ids=["503-half", "500-path", "abort-30", "delay-300"])
def test_http_fault_is_measured_then_gone(tiny: ComposeStack, params: dict) -> None:
    hit = Injected(tiny, "http-fault", {"service": "web-west"}, params)
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-west"]
        assert effect.verified, seen["shares"]
        if "status" in params:
            assert str(params["status"]) in seen["now"]["statuses"] and seen["now"]["injected"] > 0
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified, reverted.evidence
    assert_no_proxy_left(tiny, "web-west")


def test_a_latency_undone_behind_its_back_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "latency", {"service": "web-west"}, {"delay_ms": 200, "port": 80})
    try:
        fault_proxy.unredirect(tiny.container_of("web-west").id)  # someone removes the REDIRECT by hand
        effect = hit.check("injected")
        assert not effect.verified and effect.evidence["targets"]["web-west"]["added_ms"] < 100, effect.evidence
    finally:
        hit.revert()
    assert_no_proxy_left(tiny, "web-west")


def test_an_http_fault_undone_behind_its_back_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "http-fault", {"service": "web-west"}, {"port": 80, "status": 503})
    try:
        fault_proxy.unredirect(tiny.container_of("web-west").id)  # someone removes the REDIRECT by hand
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-west"]
        assert not effect.verified and seen["now"]["injected"] == 0 and seen["now"]["statuses"] == {"200": 200}
    finally:
        hit.revert()
    assert_no_proxy_left(tiny, "web-west")


def test_process_kill_needs_no_tool_in_the_image_and_is_undone(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "process-kill", {"service": "web-east"}, {"process": "nginx"})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-east"]
        assert effect.verified and len(seen["signalled"]) >= 2 and seen["still_there"] == [], seen  # master, workers
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["states"] == {"web-east": "running"}


def test_a_signal_that_does_not_end_the_process_is_not_verified(tiny: ComposeStack) -> None:
    """SIGUSR1 makes nginx reopen its logs: every process it was sent to is still there, and the check says so."""
    hit = Injected(tiny, "process-kill", {"service": "web-west"}, {"process": "nginx", "signal": "SIGUSR1"})
    effect = hit.check("injected")
    assert not effect.verified and effect.evidence["targets"]["web-west"]["still_there"], effect.evidence
    hit.revert()
    assert hit.check("reverted").verified
    with pytest.raises(FaultError, match="no process named 'postgres' runs in web-west"):
        Injected(tiny, "process-kill", {"service": "web-west"}, {"process": "postgres"})


def assert_no_stressor_left() -> None:
    left = docker_client().containers.list(all=True, filters={"label": "entchaos.helper=stress"})
    assert left == [], [c.name for c in left]


def test_stress_cpu_is_counted_in_the_targets_own_usage(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "stress-cpu", {"service": "web-east"}, {"workers": 1, "timeout_s": 60})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-east"]
        assert effect.verified and seen["added"] >= 0.5 and seen["stressor"] == "running", seen
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["targets"]["web-east"]["added"] < 0.5, reverted.evidence
    assert_no_stressor_left()


def test_stress_memory_is_counted_in_the_targets_own_usage(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "stress-memory", {"service": "web-east"}, {"bytes_mb": 64, "timeout_s": 60})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-east"]
        assert effect.verified and seen["added"] >= 0.8 * 64, seen
    finally:
        hit.revert()
    assert hit.check("reverted").verified
    assert_no_stressor_left()


def test_a_stressor_that_died_is_not_verified(tiny: ComposeStack) -> None:
    hit = Injected(tiny, "stress-cpu", {"service": "web-east"}, {"workers": 1, "timeout_s": 1})
    time.sleep(3)  # it stopped by itself: the target is idle again
    effect = hit.check("injected")
    assert not effect.verified and effect.evidence["targets"]["web-east"]["added"] < 0.5, effect.evidence
    hit.revert()
    assert_no_stressor_left()


@pytest.mark.parametrize(("path", "size_mb"), [("/data", 64), ("/tmp", 32)], ids=["volume", "writable-layer"])
def test_disk_fill_takes_the_space_then_gives_it_back(tiny: ComposeStack, path: str, size_mb: int) -> None:
    hit = Injected(tiny, "disk-fill", {"service": "web-east"}, {"path": path, "size_mb": size_mb})
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-east"]
        assert effect.verified and seen["now"]["file_bytes"] == size_mb * 2**20, seen
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified and reverted.evidence["targets"]["web-east"]["now"]["file_bytes"] is None


def test_disk_fill_to_a_share_used(tiny: ComposeStack) -> None:
    target = tiny.container_of("web-east").id
    used = space(target, "/data")["used_percent"]
    hit = Injected(tiny, "disk-fill", {"service": "web-east"}, {"path": "/data", "percent": round(used + 0.1, 2)})
    try:
        effect = hit.check("injected")
        now = effect.evidence["targets"]["web-east"]["now"]
        assert effect.verified and used + 0.05 <= now["used_percent"] <= used + 0.2, (used, now)
    finally:
        hit.revert()
    assert hit.check("reverted").verified


def test_disk_fill_never_fills_the_hosts_disk_and_sees_a_file_removed_by_hand(tiny: ComposeStack) -> None:
    with pytest.raises(FaultError, match=r"would leave \d+ MiB free, under keep_free_mb 1024"):
        Injected(tiny, "disk-fill", {"service": "web-east"}, {"path": "/tmp", "percent": 100})
    hit = Injected(tiny, "disk-fill", {"service": "web-east"}, {"path": "/tmp", "size_mb": 32})
    target = tiny.container_of("web-east").id
    in_target_files(target, 'rm -f "/proc/1/root$1/.entchaos-disk-fill"', "/tmp")  # someone frees it by hand
    effect = hit.check("injected")
    assert not effect.verified and effect.evidence["targets"]["web-east"]["now"]["file_bytes"] is None
    hit.revert()
    assert hit.check("reverted").verified


def assert_no_dns_rule_left(stack: ComposeStack, service: str) -> None:
    rules = run_in_netns(stack.container_of(service).id, "iptables-save")
    assert "entchaos-dns" not in rules, rules
    left = docker_client().containers.list(all=True, filters={"label": "entchaos.helper=dns"})
    assert left == [], [c.name for c in left]


@pytest.mark.parametrize("params", [
    {"names": "."},
    {"names": "shopper"},
    {"mode": "answer", "names": "shopper", "address": "192.0.2.7"},
], ids=["fail-all", "fail-one-name", "wrong-answer"])
def test_dns_fault_is_seen_from_inside_then_gone(tiny: ComposeStack, params: dict) -> None:
    hit = Injected(tiny, "dns", {"service": "web-west"}, params)
    try:
        effect = hit.check("injected")
        seen = effect.evidence["targets"]["web-west"]
        assert effect.verified, seen
        if params.get("mode") == "answer":
            assert seen["now"]["probe"]["addresses"] == ["192.0.2.7"]
        else:
            assert seen["now"]["probe"]["error"] and seen["before"]["probe"]["addresses"]
        if params["names"] != ".":  # another name still resolves
            assert seen["control_name"] and seen["now"]["control"]["error"] is None, seen
    finally:
        hit.revert()
    reverted = hit.check("reverted")
    assert reverted.verified, reverted.evidence
    assert_no_dns_rule_left(tiny, "web-west")


def test_a_dns_fault_for_another_name_is_not_verified(tiny: ComposeStack) -> None:
    """Resolution of `web-east` is failed, but the check is asked about `shopper`: it resolves, so not verified."""
    hit = Injected(tiny, "dns", {"service": "web-west"}, {"names": "web-east", "probe_name": "shopper"})
    try:
        effect = hit.check("injected")
        assert not effect.verified and effect.evidence["targets"]["web-west"]["now"]["probe"]["error"] is None
    finally:
        hit.revert()
    assert_no_dns_rule_left(tiny, "web-west")


def test_a_network_fault_can_name_one_of_the_targets_networks(tiny: ComposeStack) -> None:
    """web-east is on `front` and `east`: the loss is measured on front, and its rules hold front's interface only."""
    target = tiny.container_of("web-east").id
    hit = Injected(tiny, "packet-loss", {"service": "web-east"}, {"percent": 30, "network": "front"})
    try:
        effect = hit.check("injected")
        assert effect.verified and effect.evidence["targets"]["web-east"]["network"].endswith("_front")
        rules = [r for r in run_in_netns(target, "iptables-save").splitlines() if "entchaos-packet-loss" in r]
        address = containers.addresses(target)[f"{tiny.project}_front"]
        front = run_in_netns(target, f"ip -o -4 addr show | grep -F ' {address}/' | cut -d' ' -f2").strip()
        assert len(rules) == 2 and all(f" {front} " in r for r in rules), (front, rules)
    finally:
        hit.revert()
    assert hit.check("reverted").verified
    with pytest.raises(FaultError, match="web-west is not on network east"):
        Injected(tiny, "packet-loss", {"service": "web-west"}, {"percent": 30, "network": "east"})
