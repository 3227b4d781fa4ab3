"""The example that is not the ENT (examples/orders, issue 13 item 6): its runbook passes on its own stack with
RTO, availability and lost writes measured by its declared journeys and ledger; with the ledger's query made to
miss the orders the east zone took, the same run fails on lost acknowledged writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.stack.compose import PROJECT_ROOT
from tests.integration.conftest import compose_stack

pytestmark = pytest.mark.docker

EXAMPLE = PROJECT_ROOT / "examples" / "orders"


def run(runbook: Path, project: str, cwd: Path) -> tuple[int, str, dict]:
    env = {k: v for k, v in os.environ.items() if k != "ENTCHAOS_REPORTS_DIR"}
    done = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(runbook), "--project", project],
                          cwd=cwd, env={**env, "PYTHONPATH": str(PROJECT_ROOT)}, capture_output=True, text=True,
                          timeout=300)
    folders = sorted((cwd / "reports" / "orders-lose-a-zone").glob("2*"))
    summary = json.loads((folders[-1] / "summary.json").read_text()) if folders else {}
    return done.returncode, done.stdout + done.stderr, summary


def orders_by_zone(stack) -> list[tuple[str, int]]:
    import psycopg

    host, port = stack.published("db", 5432)
    with psycopg.connect(host=host, port=port, dbname="ent", user="ent", password="shop") as conn:
        return conn.execute("select zone, count(*) from orders group by zone").fetchall()


def test_the_orders_example_loses_a_zone_and_no_order(tmp_path):
    with compose_stack("entchaos-orders", EXAMPLE / "compose.yaml") as stack:
        code, out, summary = run(EXAMPLE / "lose-a-zone.yaml", stack.project, tmp_path)
        assert code == 0, out
        metrics = summary["metrics"]
        assert 0 < metrics["rto_s"] <= 10, metrics
        assert metrics["lost_acked_writes"] == 0, metrics
        assert all(c["passed"] for c in summary["checks"]), summary["checks"]
        by_zone = dict(orders_by_zone(stack))
        assert by_zone.get("east", 0) > 20 and by_zone.get("west", 0) > 50, by_zone  # both zones took orders

        # The same run, the ledger's query blind to the east zone's orders: those acknowledged writes are "lost".
        blind = tmp_path / "blind"
        blind.mkdir()
        (blind / "journeys.yaml").write_text((EXAMPLE / "journeys.yaml").read_text())
        text = (EXAMPLE / "lose-a-zone.yaml").read_text()
        text = text.replace("where key = any(%s)", "where key = any(%s) and zone <> 'east'")
        text = text.replace("compose_file: compose.yaml", f"compose_file: {EXAMPLE / 'compose.yaml'}")
        assert "zone <> 'east'" in text and str(EXAMPLE) in text
        (blind / "lose-a-zone.yaml").write_text(text)
        code, out, summary = run(blind / "lose-a-zone.yaml", stack.project, blind)
        assert code == 1, out
        assert summary["metrics"]["lost_acked_writes"] > 0, summary["metrics"]
        failed = [c for c in summary["checks"] if not c["passed"]]
        assert [c["name"] for c in failed] == ["lost_acked_writes"], failed
