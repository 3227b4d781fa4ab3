"""Blast radius on a compose project that is not the ENT stack: a datacenter fire destroys the chaos-allowed volume
its target mounts, and a volume of the same datacenter without `entchaos.chaos=allowed` survives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.faults.base import FAULTS, FaultContext, FaultRecord, TargetRef
from chaos.remediation.facts import service_volumes
from chaos.stack import containers
from chaos.stack.compose import ComposeStack
from tests.integration.conftest import compose_stack

pytestmark = pytest.mark.docker



@pytest.fixture(scope="module")
def tiny() -> Iterator[ComposeStack]:
    with compose_stack("entchaos-blast") as stack:
        yield stack


def test_a_volume_without_the_chaos_label_survives_a_datacenter_fire(tiny: ComposeStack) -> None:
    data, archive = f"{tiny.project}_east-data", f"{tiny.project}_east-archive"
    assert containers.volume_exists(data) and containers.volume_exists(archive)
    west = tiny.container_of("web-west").id

    fire = FAULTS.get("datacenter-fire")({})
    targets = tuple(TargetRef.of(t) for t in tiny.select({"datacenter": "east"}))
    assert [t.service for t in targets] == ["web-east"]
    planned = fire.describe(targets)
    assert planned == (f"datacenter-fire: destroys containers web-east; destroys volumes {data}; "
                       f"keeps {archive} (not labelled entchaos.chaos=allowed)")

    record = FaultRecord("datacenter-fire", "fire", targets, destructive=True)
    record = record.with_state(**fire.prepare(FaultContext(tiny, record)))
    assert record.state["volumes"] == [data]
    record = fire.inject(FaultContext(tiny, record))
    effect = fire.check_effect(FaultContext(tiny, record), record)
    assert effect.verified, effect.evidence
    assert effect.evidence["volumes_destroyed"] == [data]

    assert not containers.volume_exists(data)
    assert containers.volume_exists(archive)  # same datacenter label, no chaos label: untouched
    assert containers.state(west) == "running"  # another datacenter: untouched


def test_the_rebuild_destroys_only_the_chaos_allowed_volumes_of_its_services(tiny: ComposeStack) -> None:
    config = tiny.config()
    assert service_volumes(config, tiny.project, ["web-east"]) == [f"{tiny.project}_east-data"]
    assert service_volumes(config, tiny.project, ["web-west", "shopper"]) == []
