"""A destructive fault touches exactly what its selector and the labels allow (no Docker: the engine is faked)."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import NotFound

from chaos.faults.base import FAULTS, FaultContext, FaultRecord
from chaos.stack import containers
from chaos.stack.interface import TargetRef

ALLOWED = {"entchaos.chaos": "allowed", "entchaos.datacenter": "sbg"}


class FakeEngine:
    """Just enough of the Docker API: containers with their mounts, volumes with their labels."""

    def __init__(self, mounts: dict[str, list[str]], volumes: dict[str, dict[str, str]]) -> None:
        self.mounts, self.volumes = mounts, volumes
        self.api = self

    def inspect_container(self, cid: str) -> dict[str, Any]:
        if cid not in self.mounts:
            raise NotFound("gone")
        return {"Mounts": [{"Type": "volume", "Name": v} for v in self.mounts[cid]] + [{"Type": "bind"}],
                "NetworkSettings": {"Networks": {}}}

    def inspect_volume(self, name: str) -> dict[str, Any]:
        if name not in self.volumes:
            raise NotFound("gone")
        return {"Labels": self.volumes[name]}

    def containers(self, all: bool, filters: dict[str, list[str]]) -> list[dict[str, str]]:
        (name,) = filters["volume"]
        return [{"Id": cid} for cid, vols in self.mounts.items() if name in vols]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    fake = FakeEngine(
        mounts={"db-sbg": ["p_db-sbg-data", "p_db-sbg-logs"], "app-sbg-1": ["p_shared"], "app-sbg-2": [],
                "backup": ["p_shared"], "db-rbx": ["p_db-rbx-data"]},
        volumes={"p_db-sbg-data": ALLOWED, "p_db-sbg-logs": {"entchaos.datacenter": "sbg"},
                 "p_shared": ALLOWED, "p_db-rbx-data": {**ALLOWED, "entchaos.datacenter": "rbx"}},
    )
    monkeypatch.setattr(containers, "docker_client", lambda: fake)
    return fake


def ref(cid: str) -> TargetRef:
    return TargetRef(cid, f"p-{cid}", cid, cid.split("-")[1] if "-" in cid else "-", "db" if "db" in cid else "app")


def test_only_mounted_chaos_allowed_volumes_no_one_else_uses_are_destroyed(engine: FakeEngine) -> None:
    verdict = containers.destroyable_volumes(["db-sbg", "app-sbg-1", "app-sbg-2"])
    assert verdict.destroy == ("p_db-sbg-data",)
    assert verdict.kept == {"p_db-sbg-logs": "not labelled entchaos.chaos=allowed",
                            "p_shared": "also mounted by backup"}
    # a datacenter label is not a licence: rbx's volume is not mounted by the targets, so it is not even considered
    assert "p_db-rbx-data" not in verdict.destroy and "p_db-rbx-data" not in verdict.kept


def test_the_fire_follows_its_targets_not_the_datacenter_label(engine: FakeEngine) -> None:
    fire = FAULTS.get("datacenter-fire")({})
    for targets, expected in ((["db-sbg"], ["p_db-sbg-data"]), (["app-sbg-1", "app-sbg-2"], [])):
        record = FaultRecord("datacenter-fire", "fire", tuple(ref(t) for t in targets))
        state = fire.prepare(FaultContext(type("S", (), {"project": "p"})(), record))
        assert state["volumes"] == expected


def test_plan_lists_every_container_and_volume_a_fire_destroys(engine: FakeEngine) -> None:
    fire = FAULTS.get("datacenter-fire")({})
    text = fire.describe([ref("app-sbg-1"), ref("app-sbg-2"), ref("db-sbg")])
    assert text == ("datacenter-fire: destroys containers app-sbg-1, app-sbg-2, db-sbg; destroys volumes p_db-sbg-data;"
                    " keeps p_db-sbg-logs (not labelled entchaos.chaos=allowed); p_shared (also mounted by backup)")
