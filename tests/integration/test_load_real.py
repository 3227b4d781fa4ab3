"""The load generator against the real stack: journeys served, ledger checked against PostgreSQL."""

from __future__ import annotations

import json

import pytest

from chaos.load.journeys import parse_mix
from chaos.load.ledger import WriteLedger
from chaos.load.remote import run_remote
from chaos.load.runner import LoadSpec, run_load
from chaos.load.schedule import constant
from chaos.stack.database import current_primary, submission_keys

pytestmark = pytest.mark.docker


def test_journeys_from_the_host_are_served_and_no_acked_write_is_lost(ent_stack):
    result = run_load(LoadSpec(schedule=constant(5, 4), target=ent_stack.edge_url(),
                               mix=parse_mix("pupil=3,teacher=1,virtual_class=1"), seed=7))
    window = result.stats.window()
    assert window.availability("all") == 1.0
    assert window.by_class()["app"] >= 40
    check = result.ledger.check(submission_keys(ent_stack, current_primary(ent_stack)))
    assert check.acknowledged > 0 and check.lost == []


def test_the_same_generator_runs_from_a_french_client_network(ent_stack, tmp_path):
    series, ledger_path = tmp_path / "series.jsonl", tmp_path / "ledger.jsonl"
    with open(tmp_path / "out.txt", "w") as out:
        code = run_remote(ent_stack, "internet-fr", ["--profile", "constant:5", "--duration", "3",
                                                     "--mix", "pupil", "--quiet"],
                          json_path=str(series), ledger_path=str(ledger_path), out=out)
    assert code == 0, (tmp_path / "out.txt").read_text()
    lines = [json.loads(line) for line in series.read_text().splitlines()]
    assert lines, "a per-second series came back"
    ledger = WriteLedger.read_jsonl(ledger_path)
    assert ledger.acknowledged_keys <= submission_keys(ent_stack, current_primary(ent_stack))
    assert ledger.acknowledged_keys


def test_stack_down_leaves_nothing_behind(ent_stack):
    from chaos.stack.compose import ComposeStack
    from chaos.stack.docker_api import docker_client
    from tests.integration.conftest import TINY, unique_project

    stack = ComposeStack(project=unique_project("entchaos-down"), compose_file=TINY)
    stack.up()
    stack.down()
    label = {"label": f"com.docker.compose.project={stack.project}"}
    api = docker_client().api
    assert api.containers(all=True, filters=label) == []
    assert api.networks(filters=label) == []
    assert (api.volumes(filters=label).get("Volumes") or []) == []
