"""The inventory backend: an Ansible inventory read by Ansible's own parser, entchaos's conventions checked, the
runbooks planned on it; what is not implemented on hosts refused before anything is injected."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main
from chaos.engine.plan import check_environment, make_plan
from chaos.errors import InvalidInput, UnsupportedFault
from chaos.launch import validate
from chaos.stack.inventory import InventoryStack

ROOT = Path(__file__).resolve().parents[2]
FLEET = Path(__file__).parent / "data" / "fleet-inventory.yaml"


@pytest.fixture(scope="module")
def stack() -> InventoryStack:
    return InventoryStack.from_file(FLEET)


def test_hosts_groups_and_variables_become_targets(stack: InventoryStack) -> None:
    assert stack.project == "fleet-test" and stack.backend == "inventory"
    by_service = {t.service: t for t in stack.targets()}
    assert sorted(by_service) == ["app-rbx-1", "app-rbx-2", "app-sbg-1", "app-sbg-2", "db-rbx", "db-sbg", "edge"]
    assert by_service["db-sbg"].name == "sbg-db-1" and by_service["db-sbg"].id == "sbg-db-1/db-sbg"
    assert (by_service["app-sbg-2"].datacenter, by_service["app-sbg-2"].role) == ("sbg", "app")
    assert by_service["edge"].role == "edge" and not by_service["edge"].chaos_allowed
    assert by_service["db-rbx"].chaos_allowed  # the mark set on the dc_rbx group reaches its hosts


def test_only_marked_hosts_are_selected(stack: InventoryStack) -> None:
    assert [t.service for t in stack.select({"datacenter": "sbg"})] == ["app-sbg-1", "app-sbg-2", "db-sbg"]
    assert stack.select({"role": "edge"}) == []
    assert [t.service for t in stack.select({"role": "edge"}, chaos_only=False)] == ["edge"]


def test_published_endpoints_and_groups(stack: InventoryStack) -> None:
    assert stack.edge_url() == "http://127.0.0.1:18080"
    assert stack.edge_api() == ("127.0.0.1", 19999)
    assert stack.published("db-rbx", 5432) == ("127.0.0.1", 15433)
    assert [h.name for h in stack.with_role("loadgen")] == ["loadgen-1", "loadgen-2"]
    assert stack.services_by_label()["db-sbg"] == {"entchaos.datacenter": "sbg", "entchaos.role": "db",
                                                   "entchaos.chaos": "allowed"}


BROKEN = {
    "two datacenters": ("all: {children: {dc_a: {hosts: {h1: {entchaos_services: {s: {role: app}}}}}, "
                        "dc_b: {hosts: {h1: {}}}}}", "host h1 is in 2 datacenters"),
    "bad mark": ("all: {hosts: {h1: {entchaos_chaos: yes, entchaos_services: {s: {role: app}}}}}",
                 "entchaos_chaos is True; the only mark is 'allowed'"),
    "unknown key": ("all: {hosts: {h1: {entchaos_services: {s: {role: app, url: x}}}}}", "unknown keys ['url']"),
    "bad port": ("all: {hosts: {h1: {entchaos_services: {s: {role: app, ports: {80: 'here:http'}}}}}}",
                 "'here:http' is not an address:port"),
    "no role": ("all: {hosts: {h1: {entchaos_services: {s: {}}}}}", "no role: the host is in 0 role_* groups"),
    "twice": ("all: {hosts: {h1: {entchaos_services: {s: {role: app}}}, h2: {entchaos_services: {s: {role: app}}}}}",
              "service s is declared on hosts h1 and h2"),
    "nothing": ("all: {hosts: {h1: {}}}", "no host declares entchaos_services"),
    "not an inventory": ("all: [1, 2", "Ansible cannot read the inventory"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_inventory_says_what_and_where(case: str, tmp_path: Path) -> None:
    text, expected = BROKEN[case]
    path = tmp_path / "hosts.yaml"
    path.write_text(text + "\n")
    with pytest.raises(InvalidInput) as caught:
        InventoryStack.from_file(path)
    assert expected in caught.value.message and str(path) in caught.value.message


def test_the_datacenter_fire_is_planned_on_the_inventory(stack: InventoryStack) -> None:
    plan = make_plan(validate(ROOT / "runbooks" / "datacenter-fire.yaml"), stack)
    fire = plan.step("fire")
    assert [(t.name, t.service) for t in fire.targets] == [
        ("sbg-app-1", "app-sbg-1"), ("sbg-app-1", "app-sbg-2"), ("sbg-db-1", "db-sbg")]


def test_the_datacenter_fire_runs_on_hosts(stack: InventoryStack) -> None:
    """Its fault, probes and playbooks all have a hosts version: nothing is refused."""
    plan = make_plan(validate(ROOT / "runbooks" / "datacenter-fire.yaml"), stack)
    check_environment(plan, stack)
    assert "cuts off hosts sbg-app-1, sbg-db-1 (SSH aside)" in plan.step("fire").description


def test_what_has_no_host_implementation_is_refused_before_anything(stack: InventoryStack, tmp_path: Path) -> None:
    runbook = tmp_path / "cut.yaml"
    runbook.write_text("metadata: {name: cut}\n"
                       "steps:\n  - {id: slow, fault: latency, target: {datacenter: sbg}, count: 1, duration_s: 5,\n"
                       "             params: {delay_ms: 50, port: 80}}\n")
    plan = make_plan(validate(runbook), stack)
    with pytest.raises(UnsupportedFault) as caught:
        check_environment(plan, stack)
    assert "step slow: fault latency is not implemented on the inventory backend" in caught.value.message
    cpu = tmp_path / "cpu.yaml"
    cpu.write_text("metadata: {name: cpu}\nsteps:\n  - {id: busy, probe: cpu-utilisation, params: {role: app}}\n")
    with pytest.raises(UnsupportedFault, match="probe cpu-utilisation is not implemented on the inventory"):
        check_environment(make_plan(validate(cpu), stack), stack)


def test_plan_and_run_take_an_inventory_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    runbook = str(ROOT / "runbooks" / "datacenter-fire.yaml")
    assert main(["plan", runbook, "--inventory", str(FLEET)]) == 0
    out = capsys.readouterr().out
    assert "kills app-sbg-1 on sbg-app-1, app-sbg-2 on sbg-app-1, db-sbg on sbg-db-1" in out
    assert "failover-database (failed_datacenter=sbg): kills db-sbg on sbg-db-1 (over SSH); promotes the first of " \
           "db-rbx on rbx-db-1" in out
    assert main(["plan", runbook, "--inventory", str(FLEET), "--compose-file", "x.yaml"]) == 2
    assert "--inventory and --compose-file" in capsys.readouterr().err


def test_load_generators_are_reached_as_ansible_reaches_them(tmp_path: Path) -> None:
    from chaos.load.fleet_load import FleetLoad, ssh_command
    from chaos.load.runner import LoadSpec
    from chaos.load.schedule import profile

    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(
        "all:\n  vars: {ansible_user: root, ansible_ssh_private_key_file: /k, ansible_ssh_common_args: '-o A=b'}\n"
        "  hosts:\n"
        "    web: {entchaos_services: {web: {role: app}}}\n"
        "    gen-1: {ansible_host: 127.0.0.1, ansible_port: 2201}\n"
        "  children: {role_loadgen: {hosts: {gen-1: {}}}}\n")
    stack = InventoryStack.from_file(inventory)
    gen = stack.host("gen-1")
    assert ssh_command(gen) == ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", "2201", "-i", "/k",
                                "-o", "A=b", "root@127.0.0.1"]
    spec = LoadSpec(schedule=profile([[0, 10], [10, 10]], duration_s=10), mix={"pupil": 1.0})
    with pytest.raises(InvalidInput, match="names no `entchaos_load_target`"):
        FleetLoad(spec, stack)
    inventory.write_text(inventory.read_text().replace("ansible_user: root,", "ansible_user: root, "
                                                       "entchaos_load_target: 'http://web:80',"))
    fleet = FleetLoad(spec, InventoryStack.from_file(inventory))
    assert fleet.spec.target == "http://web:80" and fleet.spec.schedule.points[0][1] == 10  # one generator: all


def test_load_from_an_inventory_refuses_another_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["load", "--inventory", str(FLEET), "--from", "internet-fr", "--duration", "1"]) == 2
    assert "--inventory sends from the inventory's load generators" in capsys.readouterr().err
    # No `entchaos_load_target`: said before any generator is started.
    assert main(["load", "--inventory", str(FLEET), "--duration", "1"]) == 2
    assert "names no `entchaos_load_target`" in capsys.readouterr().err
