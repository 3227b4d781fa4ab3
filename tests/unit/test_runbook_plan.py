"""Plan: what will be hit, in what order, and whether it can run here; nothing is injected."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from chaos.engine.plan import check_environment, make_plan
from chaos.engine.result import StepFailed
from chaos.errors import EnvironmentProblem, UnsupportedFault
from chaos.gameday.operator import ConsoleOperator
from tests.fakes import FakeKill, FakeWorld

DATA = Path(__file__).parent / "data"


class NoNetem(FakeKill):
    def check_supported(self, stack: object) -> None:
        raise UnsupportedFault("latency needs netem, not in this kernel", fix="use bandwidth or packet-loss")


def test_plan_resolves_targets_by_labels_in_order(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    faults, probes = world.registries
    plan = make_plan(world.load_file(DATA / "datacenter-fire.yaml"), world.stack, faults=faults, probes=probes)
    fire = plan.step("fire")
    assert [t.service for t in fire.targets] == ["sbg-app-1", "sbg-app-2", "sbg-db"]
    assert [p.step_id for p in plan.phase("steps")][:3] == ["fire", "detect", "failover"]
    text = plan.render()
    assert "[steps] fire (fault): fake-fire on sbg-app-1, sbg-app-2, sbg-db" in text
    assert "[rollback] undrain (playbook): run playbook edge-undrain" in text
    assert set(world.stack.states().values()) == {"running"}


def test_count_and_chaos_label_limit_the_targets(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    world.stack.by_id("rbx-app1").chaos_allowed = False
    runbook = world.parse("metadata: {name: t}\nsteps:\n  - id: k\n    fault: fake-kill\n"
                          "    target: {role: app}\n    count: 2\n")
    faults, probes = world.registries
    plan = make_plan(runbook, world.stack, faults=faults, probes=probes)
    assert [t.id for t in plan.step("k").targets] == ["rbx-app2", "sbg-app1"]


def test_unsupported_fault_stops_before_anything_runs(tmp_path: Path) -> None:
    world = FakeWorld(tmp_path)
    faults, probes = world.registries
    world.registries = (faults.derive({"no-netem": NoNetem}), probes)
    runbook = world.parse("metadata: {name: t}\nsteps:\n  - id: a\n    fault: fake-kill\n    target: {role: db}\n"
                          "  - id: b\n    fault: no-netem\n    target: {role: app}\n")
    plan = make_plan(runbook, world.stack, faults=world.registries[0], probes=probes)  # plan asks nothing
    with pytest.raises(UnsupportedFault):
        check_environment(plan, world.stack)  # run asks, before anything is injected
    result = world.engine(runbook).run()
    assert (result.verdict, result.exit_code) == ("error", 4) and "netem" in result.reason
    assert set(world.stack.states().values()) == {"running"}
    assert isinstance(UnsupportedFault("x"), EnvironmentProblem)


def test_console_operator_waits_for_enter() -> None:
    out = io.StringIO()
    ConsoleOperator(io.StringIO("\n"), out).wait_done("s", "do it", timeout_s=2, abort=threading.Event())
    assert "press Enter" in out.getvalue()


def test_console_operator_times_out_as_a_failed_step() -> None:
    class Silent(io.StringIO):
        def readline(self, *args: object) -> str:
            threading.Event().wait(5)
            return ""

    with pytest.raises(StepFailed, match="nobody confirmed"):
        ConsoleOperator(Silent(), io.StringIO()).wait_done("s", "x", timeout_s=0.2, abort=threading.Event())


def test_plan_without_a_docker_engine_shows_the_selectors_and_starts_nothing() -> None:
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    done = subprocess.run([sys.executable, "-m", "chaos.cli", "plan", str(root / "runbooks" / "datacenter-fire.yaml")],
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "targets not resolved (no Docker engine answers)" in done.stdout
    assert "[steps] fire (fault): datacenter-fire on the containers labelled datacenter=sbg" in done.stdout
    assert "run playbook rebuild-datacenter (datacenter=sbg)" in done.stdout


def test_a_service_the_project_does_not_have_is_refused_at_plan(tmp_path: Path) -> None:
    # No compose file named by the runbook (the bundled stack, or one given with --compose-file): the running
    # project's services are the reference, before anything is injected.
    from chaos.errors import InvalidInput

    world = FakeWorld(tmp_path)
    faults, probes = world.registries
    text = (DATA / "datacenter-fire.yaml").read_text()
    text = text.replace("  source: internet-fr\n", "  source: internet-fr\n  target: {service: shop-api, port: 80}\n")
    (tmp_path / "other.yaml").write_text(text)
    runbook = world.load_file(tmp_path / "other.yaml")
    with pytest.raises(InvalidInput) as err:
        make_plan(runbook, world.stack, faults=faults, probes=probes)
    assert "load.target.service" in err.value.message and "found 'shop-api'" in err.value.message
    assert "sbg-app-1" in err.value.message  # the services it has
