"""Faults on an inventory's hosts without the hosts: what a fire may destroy, whom a partition cuts, how a peer is
chosen, the probe agent's reachability probe, and the host scripts the faults name."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from chaos.engine.plan import check_environment, make_plan
from chaos.errors import FaultError, InvalidInput
from chaos.faults import host_network
from chaos.faults._netns_fault import NetnsFault
from chaos.faults.base import FAULTS, FaultContext, FaultRecord, TargetRef
from chaos.faults.datacenter_fire import DatacenterFire
from chaos.launch import validate
from chaos.stack.hosts import HostRun, run_host_playbook
from chaos.stack.inventory import InventoryStack
from chaos.stack.netns import AGENT_SOURCE

ROOT = Path(__file__).resolve().parents[2]
FLEET = Path(__file__).parent / "data" / "fleet-inventory.yaml"
SCRIPTS = yaml.safe_load((ROOT / "playbooks" / "hosts" / "vars" / "scripts.yml").read_text())


@pytest.fixture(scope="module")
def stack() -> InventoryStack:
    return InventoryStack.from_file(FLEET)


def targets(stack: InventoryStack, **labels: str) -> tuple[TargetRef, ...]:
    return tuple(TargetRef.of(t) for t in stack.select(labels))


class NotInventory:
    backend = "compose"
    project = "p"


def test_the_destroy_mark_is_read_and_checked(stack: InventoryStack, tmp_path: Path) -> None:
    assert stack.host("sbg-db-1").destroy_allowed and not stack.host("rbx-db-1").destroy_allowed
    bad = tmp_path / "bad.yaml"
    bad.write_text("all: {hosts: {h1: {entchaos_destroy_data: yes, entchaos_services: {s: {role: db}}}}}")
    with pytest.raises(InvalidInput, match="entchaos_destroy_data is True; the only mark is 'allowed'"):
        InventoryStack.from_file(bad)


@pytest.mark.parametrize(("datacenter", "destroy", "error"), [
    ("sbg", ["db-rbx"], "destroy_data names db-rbx, which the fire does not burn"),
    ("rbx", ["db-rbx"], "host rbx-db-1 does not allow its data destroyed (db-rbx)"),
    ("sbg", ["app-sbg-1"], "app-sbg-1 on sbg-app-1 declares no data_dirs to destroy"),
])
def test_a_fire_destroys_only_named_declared_and_allowed_data(stack: InventoryStack, datacenter: str,
                                                              destroy: list[str], error: str) -> None:
    fire = FAULTS.get("datacenter-fire")({"destroy_data": destroy})
    with pytest.raises(InvalidInput, match=re.escape(error)):
        fire.check_targets(targets(stack, datacenter=datacenter), stack)


def test_a_fire_that_may_destroy_says_what(stack: InventoryStack) -> None:
    fire = DatacenterFire({"destroy_data": ["db-sbg"]})
    burning = targets(stack, datacenter="sbg")
    fire.check_targets(burning, stack)
    assert fire._data_dirs(burning, stack) == {"sbg-db-1": ["/var/lib/postgresql/data"]}
    assert fire.describe(burning, stack).endswith("destroys the data of db-sbg")
    record = FaultRecord("datacenter-fire", "fire", burning, {"destroy_data": ["db-sbg"]})
    assert fire.prepare(FaultContext(stack, record))["data_dirs"] == {"sbg-db-1": ["/var/lib/postgresql/data"]}
    with pytest.raises(InvalidInput, match="`destroy_data` is for an inventory's hosts"):
        fire.check_targets(burning, NotInventory())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        FAULTS.get("datacenter-fire")({"destroy_data": ["../etc"]})


def test_a_forbidden_destruction_is_refused_before_the_run_naming_the_step(stack: InventoryStack,
                                                                           tmp_path: Path) -> None:
    runbook = tmp_path / "burn.yaml"
    runbook.write_text("metadata: {name: burn}\nsteps:\n  - {id: burn, fault: datacenter-fire, "
                       "target: {datacenter: rbx}, params: {destroy_data: [db-rbx]}, reverted_by: [rebuild]}\n"
                       "  - {id: rebuild, playbook: rebuild-datacenter, extravars: {datacenter: rbx}}\n")
    with pytest.raises(InvalidInput, match="step burn: datacenter-fire: host rbx-db-1 does not allow"):
        check_environment(make_plan(validate(runbook), stack), stack)


def test_a_partition_cuts_the_other_datacenters_or_a_named_group(stack: InventoryStack) -> None:
    sbg = targets(stack, datacenter="sbg")
    assert host_network.peers_of(stack, sbg, None) == ["edge-1", "loadgen-1", "loadgen-2", "rbx-app-1", "rbx-db-1"]
    assert host_network.peers_of(stack, sbg, "dc_rbx") == ["rbx-app-1", "rbx-db-1"]
    assert host_network.peers_of(stack, sbg, "role_db") == ["rbx-db-1"]  # never a target's own host
    with pytest.raises(FaultError, match="a partition from nobody"):
        host_network.peers_of(stack, sbg, "dc_sbg")
    with pytest.raises(ValidationError):
        FAULTS.get("partition")({"peers": "edge"})


def test_each_backend_refuses_the_other_backends_parameter(stack: InventoryStack) -> None:
    sbg = targets(stack, datacenter="sbg")
    on_compose = FAULTS.get("partition")({"peers": "dc_rbx"})
    with pytest.raises(FaultError, match="`peers` names inventory groups"):
        on_compose.prepare(FaultContext(NotInventory(), FaultRecord("partition", "cut", sbg)))  # type: ignore[arg-type]
    on_hosts = FAULTS.get("partition")({"network": "backbone"})
    with pytest.raises(FaultError, match="`network` names a compose network"):
        on_hosts.prepare(FaultContext(stack, FaultRecord("partition", "cut", sbg)))


def fake_hosts(monkeypatch: pytest.MonkeyPatch, addresses: dict[str, list[str]],
               answered: dict[str, set[str]]) -> list[dict[str, Any]]:
    """`run_host_playbook` replaced: each host says its addresses, and its `reach` probes find `answered`."""
    calls: list[dict[str, Any]] = []

    def run(name: str, inventory: object, *, extravars: dict[str, Any], limit: str, **_: object) -> HostRun:
        calls.append({"playbook": name, "limit": limit, **extravars})
        results = {}
        for host in limit.split(","):
            probes = []
            for mode, *args in extravars.get("probes", {}).get(host, []):
                assert mode == "reach" and args[0] == str(host_network.CLOSED_PORT)
                probes.append(json.dumps({"answered": {a: a in answered.get(host, set()) for a in args[3:]}}))
            results[host] = [{"msg": {"addresses": addresses.get(host, []), "leftovers": [], "probes": probes}}]
        return HostRun("successful", 0, results, {}, {})

    monkeypatch.setattr(host_network, "run_host_playbook", run)
    return calls


def test_a_peer_is_a_host_that_answers_same_datacenter_first(stack: InventoryStack,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    addresses = {h.name: [f"10.0.0.{i}"] for i, h in enumerate(stack.hosts, start=1)}
    ip = {h: a[0] for h, a in addresses.items()}
    # rbx-app-1's only same-datacenter peer (rbx-db-1) does not answer: the next in rank does.
    calls = fake_hosts(monkeypatch, addresses, {"rbx-app-1": {ip["edge-1"], ip["loadgen-1"]}})
    chosen = host_network.choose_peer(stack, targets(stack, service="app-rbx-1"))
    assert chosen == {"rbx-app-1": {"peer": "edge-1", "address": ip["edge-1"]}}
    tried = calls[-1]["probes"]["rbx-app-1"][0]
    assert tried[4:] == [ip["rbx-db-1"], ip["edge-1"], ip["loadgen-1"]]  # same datacenter first, then by name
    fake_hosts(monkeypatch, addresses, {})
    with pytest.raises(FaultError, match="no host answers rbx-app-1"):
        host_network.choose_peer(stack, targets(stack, service="app-rbx-1"))


def test_an_address_a_host_reports_is_checked_before_it_reaches_a_firewall_rule(
        stack: InventoryStack, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_hosts(monkeypatch, {"sbg-db-1": ["10.0.0.1; iptables -F"]}, {})
    with pytest.raises(ValueError, match=re.escape("10.0.0.1; iptables -F")):
        host_network.probe(stack, ["sbg-db-1"])


def agent(*args: object) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(AGENT_SOURCE), *map(str, args)], capture_output=True, text=True,
                          timeout=30, check=True)
    return json.loads(done.stdout)


def test_the_reach_probe_tells_an_answer_from_silence() -> None:
    assert agent("reach", 9, 0.5, 2, "127.0.0.1") == {"answered": {"127.0.0.1": True}}  # a reset is an answer
    # Silence without a firewall: a listener whose accept queue is full drops further SYNs (no reset).
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        queued = [socket.create_connection(("127.0.0.1", port), timeout=1) for _ in range(1)]  # backlog 0 holds one
        t0 = time.monotonic()
        silent = agent("reach", port, 0.5, 2, "127.0.0.1")
        for sock in queued:
            sock.close()
    assert silent == {"answered": {"127.0.0.1": False}} and time.monotonic() - t0 < 5


def test_every_host_script_a_fault_names_exists_with_its_undo_and_parses() -> None:
    classes = [FAULTS.get(name) for name in FAULTS.names()]
    named = {cls.host_script for cls in classes if issubclass(cls, NetnsFault) and cls.host_script}
    assert named == {"packet_loss", "bandwidth"}
    named |= {"partition", "destroy_data", "data_state", "addresses", "leftovers"}
    for name in named:
        assert f"{name}_script" in SCRIPTS, name
    for name in ("packet_loss", "bandwidth", "partition"):
        assert f"un{name}_script" in SCRIPTS, name
    for key, script in SCRIPTS.items():
        parsed = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
        assert parsed.returncode == 0, f"{key}: {parsed.stderr}"


def test_every_fault_left_on_a_host_is_named_by_the_leftovers_script() -> None:
    """The marks the faults' scripts put are the ones `leftovers_script` (and so `fleet status`, `recover`) looks
    for: a rule it cannot see would be left behind unseen."""
    left = SCRIPTS["leftovers_script"]
    assert "ENTCHAOS-FIRE-IN" in SCRIPTS["cut_off_script"] and "ENTCHAOS-FIRE-IN" in left
    assert "ENTCHAOS-PART-IN" in SCRIPTS["partition_script"] and "ENTCHAOS-PART" in left
    assert "entchaos-packet-loss" in SCRIPTS["packet_loss_script"] and "entchaos-packet-loss" in left
    assert "handle ecc0:" in SCRIPTS["bandwidth_script"] and "tbf ecc0:" in left


def test_a_host_playbook_leaves_the_runs_signal_handlers_alone(tmp_path: Path) -> None:
    """Without a cancel callback ansible-runner installs its own SIGTERM handler for good: a fleet run sent SIGTERM
    then went on to its end instead of rolling back."""
    inventory = tmp_path / "local.yaml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"here": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))

    def mine(signum: int, frame: object) -> None:
        raise AssertionError("not expected to be called")

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        run = run_host_playbook("script", inventory,
                                extravars={"script": "data_state", "args": {"here": ["/nonexistent/x"]}})
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert run.results["here"][-1]["msg"]["stdout"] == "/nonexistent/x missing"
