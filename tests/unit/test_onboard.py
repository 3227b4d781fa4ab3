"""`entchaos init`: a project written by someone else is surveyed, labels are proposed (never applied) for its
services, and the starter runbook it writes passes `validate` (and `plan`, in the integration tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.cli import main
from chaos.model.loader import load_runbook
from chaos.onboard import propose, starter_journeys, starter_runbook, survey
from tests.integration.conftest import TINY

# The project: a balancer in front of two catalogue servers in two cities, a database; no labels.
SHOP = {
    "name": "catalogue",
    "services": {
        "lb": {"image": "haproxy:2.9", "ports": [{"target": 80, "protocol": "tcp"}], "networks": {"front": None}},
        "catalogue-paris": {"image": "shop/catalogue", "networks": {"front": None, "paris": None}},
        "catalogue-lyon": {"image": "shop/catalogue", "networks": {"front": None, "lyon": None}},
        "db-paris": {"image": "postgres:16", "networks": {"paris": None}},
    },
    "networks": {"front": {}, "paris": {}, "lyon": {}},
}


def test_labels_are_proposed_from_names_and_images() -> None:
    found = survey(SHOP, Path("compose.yaml"))
    assert found.proposals == {
        "catalogue-lyon": {"entchaos.datacenter": "lyon", "entchaos.role": "app", "entchaos.chaos": "allowed"},
        "catalogue-paris": {"entchaos.datacenter": "paris", "entchaos.role": "app", "entchaos.chaos": "allowed"},
        "db-paris": {"entchaos.datacenter": "paris", "entchaos.role": "db"},  # never chaos-allowed by a proposal
        "lb": {"entchaos.datacenter": "front", "entchaos.role": "edge"},
    }
    assert found.datacenters() == ["lyon", "paris"]
    front = found.front()
    assert front is not None and (front[0].name, front[1]) == ("lb", 80)


def test_the_starter_runbook_is_valid_as_written(tmp_path: Path) -> None:
    found = survey(SHOP, tmp_path / "compose.yaml")
    (tmp_path / "catalogue-starter.yaml").write_text(starter_runbook(found, tmp_path))
    runbook = load_runbook(tmp_path / "catalogue-starter.yaml")
    ids = [s.step_id for s in runbook.steps]
    assert ids == ["steady", "lose-lyon", "served-lyon", "back-lyon", "lose-paris", "served-paris", "back-paris",
                   "split"]
    assert {c.metric for c in runbook.verify if hasattr(c, "metric")} == {"ttr_lyon_s", "ttr_paris_s",
                                                                          "lost_acked_writes"}
    assert runbook.load is not None and runbook.load.target is not None and runbook.load.target.service == "lb"


def test_the_starter_plays_its_own_journeys_file(tmp_path: Path) -> None:
    # Nothing ENT-only: the load plays the journeys file written beside the runbook, checked when it loads.
    found = survey(SHOP, tmp_path / "compose.yaml")
    (tmp_path / "catalogue-journeys.yaml").write_text(starter_journeys(found))
    (tmp_path / "catalogue-starter.yaml").write_text(starter_runbook(found, tmp_path, "catalogue-journeys.yaml"))
    runbook = load_runbook(tmp_path / "catalogue-starter.yaml")
    assert runbook.load is not None and runbook.load.journeys == {"visitor": 1}
    assert runbook.load.journeys_file == str(tmp_path / "catalogue-journeys.yaml")


def test_a_labelled_project_needs_no_proposal() -> None:
    labelled = {"services": {"web-east": {"labels": {"entchaos.datacenter": "east", "entchaos.role": "app"}}}}
    assert propose(survey(labelled, Path("c.yaml")).services) == {}


def test_init_writes_a_valid_starter_and_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny-starter.yaml"
    assert main(["init", "--compose-file", str(TINY), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (tmp_path / "tiny-journeys.yaml").is_file()
    assert "web-east             east/app, chaos allowed" in printed and f"wrote {out}: valid" in printed
    assert main(["init", "--compose-file", str(TINY), "--out", str(out)]) == 2
    assert "exists; --force" in capsys.readouterr().err
