"""A runbook on a project that is not the ENT (issue 13): the load and the probes sent to a service by name and
port (no edge, no runtime API, no database), answers counted as served by their status, a metric the runbook
records verified in the short form, the reports where the user runs. The pause of the zone is felt by the load."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chaos.stack.compose import PROJECT_ROOT
from tests.integration.conftest import TINY, compose_stack

pytestmark = pytest.mark.docker

RUNBOOK = f"""\
metadata: {{name: shop-west}}
stack: {{compose_file: {TINY}}}
load: {{profile: "constant:20", journeys: {{flood: 1}}, target: {{service: web-west, port: 80}}, duration_s: 60}}
hypothesis:
  probes:
    - {{name: west answers, probe: http, params: {{target: {{service: web-west, port: 80}}, timeout_s: 1}},
       expect: {{eq: 200}}}}
  warmup_s: 10
steps:
  - {{id: settle, wait-for: load-elapsed, until: {{gte: 3}}, timeout_s: 20}}
  - {{id: frozen, fault: pause, target: {{datacenter: west}}, duration_s: 2}}
  - id: back
    wait-for: http
    params: {{target: {{service: web-west, port: 80}}, timeout_s: 1}}
    until: {{eq: 200}}
    timeout_s: 20
    interval_s: 0.2
    since: frozen
    record: ttr_s
verify:
  - ttr_s: {{lte: 10}}
  - lost_acked_writes: {{eq: 0}}   # GETs only: nothing to lose, and no database to ask
"""


def test_a_runbook_on_a_stack_that_is_not_the_ent(tmp_path):
    with compose_stack("entchaos-own") as stack:
        (tmp_path / "shop-west.yaml").write_text(RUNBOOK)
        env = {k: v for k, v in os.environ.items() if k != "ENTCHAOS_REPORTS_DIR"}
        done = subprocess.run([sys.executable, "-m", "chaos.cli", "run", "shop-west.yaml", "--project", stack.project],
                              cwd=tmp_path, env={**env, "PYTHONPATH": str(PROJECT_ROOT)}, capture_output=True,
                              text=True, timeout=240)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "warning" not in done.stderr, done.stderr  # nothing ENT-only on the way (no database, no ledger)
    [folder] = (tmp_path / "reports" / "shop-west").glob("2*")  # where the user ran it, not the toolkit's
    summary = json.loads((folder / "summary.json").read_text())
    assert 0 < summary["metrics"]["ttr_s"] <= 10
    assert all(c["passed"] for c in summary["checks"]), summary["checks"]
    # Counted by status (a plain 200 from nginx is served); the pause was felt by the load.
    events = [json.loads(line) for line in (folder / "journal.jsonl").read_text().splitlines()]
    rows = next(e for e in events if e["event"] == "load_series")["rows"]
    served = sum(r["by_class"].get("app", 0) + r["by_class"].get("fallback", 0) for r in rows)
    worst_p99 = max(r.get("p99_ms") or 0 for r in rows)
    assert served > 200 and worst_p99 > 1000, (served, worst_p99)  # the 2-s freeze, seen by the requests


def test_an_edge_without_haproxys_runtime_api_is_an_edge_all_the_same(tmp_path):
    # The balancer: labelled `edge`, publishing its port 80 but no runtime API on 9999. `stack up` and
    # `status` work, and probes sent to "the edge" by default reach it.
    import yaml

    from chaos.stack.compose import ComposeStack
    from tests.integration.conftest import unique_project

    data = yaml.safe_load(TINY.read_text())
    data["services"]["web-west"]["labels"]["entchaos.role"] = "edge"
    compose = tmp_path / "compose.yaml"
    compose.write_text(yaml.safe_dump(data))
    runbook = tmp_path / "front.yaml"
    runbook.write_text(f"""\
metadata: {{name: front}}
stack: {{compose_file: {compose}}}
steps:
  - {{id: front, probe: http, params: {{timeout_s: 2}}, record: front_status}}
verify:
  - front_status: {{eq: 200}}
""")
    project = unique_project("entchaos-edge")
    cli = [sys.executable, "-m", "chaos.cli"]
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(tmp_path / "reports")}
    try:
        up = subprocess.run([*cli, "stack", "up", "--project", project, "--compose-file", str(compose), "--timeout",
                             "60"], env=env, capture_output=True, text=True, timeout=120)
        status = subprocess.run([*cli, "stack", "status", "--project", project, "--compose-file", str(compose)],
                                env=env, capture_output=True, text=True, timeout=60)
        run = subprocess.run([*cli, "run", str(runbook), "--project", project], env=env, capture_output=True,
                             text=True, timeout=120)
    finally:
        ComposeStack(project=project, compose_file=compose).down()
    assert up.returncode == 0, up.stdout + up.stderr
    assert status.returncode == 0 and "http://127.0.0.1:" in status.stdout, status.stdout + status.stderr
    assert run.returncode == 0, run.stdout + run.stderr


def test_init_gives_a_runbook_that_plans_and_runs_to_a_verdict(tmp_path):
    # Issue 13's "done when": from the compose file alone, a runbook that runs and gives a verdict with the time
    # to recover per zone and the availability. On the small project the front (web-west) has no second replica:
    # losing it is felt, and the verdict says so.
    cli = [sys.executable, "-m", "chaos.cli"]
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(tmp_path / "reports")}
    out = tmp_path / "shop-starter.yaml"
    with compose_stack("entchaos-init") as stack:
        init = subprocess.run([*cli, "init", "--compose-file", str(TINY), "--out", str(out)], env=env,
                              capture_output=True, text=True, timeout=60)
        assert init.returncode == 0, init.stdout + init.stderr
        plan = subprocess.run([*cli, "plan", str(out), "--project", stack.project], env=env, capture_output=True,
                              text=True, timeout=60)
        run = subprocess.run([*cli, "run", str(out), "--project", stack.project], env=env, capture_output=True,
                             text=True, timeout=400)
    assert plan.returncode == 0 and "web-east" in plan.stdout and "web-west" in plan.stdout, plan.stdout + plan.stderr
    assert run.returncode in (0, 1), run.stdout + run.stderr  # a verdict, not an error
    [folder] = (tmp_path / "reports").glob("*-starter/2*")
    metrics = json.loads((folder / "summary.json").read_text())["metrics"]
    assert 0 < metrics["ttr_east_s"] <= 30  # east's loss is not on the load's path
    assert "availability" in json.dumps(json.loads((folder / "summary.json").read_text())["checks"])
