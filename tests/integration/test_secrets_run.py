"""A whole `entchaos run` on a small real project whose containers and environment hold secrets: none of them
appears in stdout, stderr (the log at info level included), the journal or any report file."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from chaos.stack.compose import PROJECT_ROOT, ComposeStack
from tests.integration.conftest import TINY, compose_stack

pytestmark = pytest.mark.docker

ENTCHAOS = [sys.executable, "-m", "chaos.cli"]
APP_SECRET = "tiny-session-key-93be10"
DB_PASSWORD = "tiny-db-pw-c4d2e8"
TOKEN = "eyJzaG9wcGVyIjoxfQ.dGlueS1zaWc"
SECRETS = (APP_SECRET, DB_PASSWORD, TOKEN)


@pytest.fixture(scope="module")
def compose_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny project, its web servers given the secrets a real app has in its environment."""
    data = yaml.safe_load(TINY.read_text())
    for name in ("web-east", "web-west"):
        data["services"][name]["environment"] = {
            "ENT_SECRET": APP_SECRET, "ENT_DATABASE_URL": f"host=db user=shop password={DB_PASSWORD}"}
    path = tmp_path_factory.mktemp("secrets") / "compose.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def stack(compose_file: Path) -> Iterator[ComposeStack]:
    with compose_stack("entchaos-secrets", compose_file) as stack:
        yield stack


def runbook(compose_file: Path) -> str:
    said = f"host=db password={DB_PASSWORD} Authorization: Bearer {TOKEN}"  # what a probe might answer
    return f"""\
metadata: {{name: tiny-secrets}}
stack: {{compose_file: {compose_file}}}
hypothesis:
  probes:
    - {{name: steady, probe: constant, params: {{value: 1}}, expect: {{eq: 1}}}}
steps:
  - {{id: cut, fault: partition, target: {{datacenter: east}}, params: {{network: front}}}}
  - {{id: frozen, fault: pause, target: {{datacenter: west}}, duration_s: 1}}
  - {{id: said, probe: constant, params: {{value: "{said}"}}, expect: {{eq: quiet}}, continue_on_failure: true}}
verify:
  - {{name: nothing said, probe: constant, params: {{value: "ENT_SECRET={APP_SECRET}"}}, expect: {{eq: 0}}}}
"""


def test_a_whole_run_writes_no_secret(stack, compose_file, tmp_path):
    path = tmp_path / "tiny-secrets.yaml"
    path.write_text(runbook(compose_file))
    reports = tmp_path / "reports"
    env = {**os.environ, "ENTCHAOS_REPORTS_DIR": str(reports), "ENTCHAOS_APP_SECRET": APP_SECRET,
           "PGPASSWORD": DB_PASSWORD}
    outputs = {}
    for args in (["run", str(path), "--project", stack.project], ["recover"],
                 ["stack", "status", "--project", stack.project, "--compose-file", str(compose_file)]):
        done = subprocess.run([*ENTCHAOS, "--log-level", "debug", *args], env=env, cwd=PROJECT_ROOT,
                              capture_output=True, text=True, timeout=300)
        outputs[" ".join(args[:1])] = done
    run = outputs["run"]
    assert run.returncode == 1, run.stdout + run.stderr  # the checks that saw the secrets fail, masked
    assert "password=***" in run.stdout + run.stderr and "Bearer ***" in run.stdout + run.stderr
    for name, done in outputs.items():
        for secret in SECRETS:
            assert secret not in done.stdout, f"{secret} on the stdout of {name}"
            assert secret not in done.stderr, f"{secret} on the stderr of {name}"
    files = [p for p in reports.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"journal.jsonl", "summary.json", "junit.xml", "report.html", "summary.md"}
    for file in files:
        text = file.read_text(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {file.relative_to(reports)}"
