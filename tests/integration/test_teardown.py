"""`stack down` leaves nothing, even after a datacenter fire and with a fault's helper still in a namespace.

The CI gate brings stacks up and down all day: a network kept by a stale endpoint ("has active endpoints", no
container left) would be reused by the next `up`. Fire, down, and check the engine holds nothing of the project.
"""

from __future__ import annotations

import pytest

from chaos.faults.base import FaultContext, FaultRecord
from chaos.faults.datacenter_fire import DatacenterFire
from chaos.stack.docker_api import docker_client
from chaos.stack.interface import TargetRef
from chaos.stack.labels import COMPOSE_PROJECT
from chaos.stack.netns import NETTOOLS_IMAGE
from tests.integration.conftest import compose_stack


def left_of(project: str) -> dict[str, list[str]]:
    """What the engine still holds of a compose project: containers, networks, volumes."""
    api = docker_client().api
    label = {"label": f"{COMPOSE_PROJECT}={project}"}
    return {"containers": [c["Id"] for c in api.containers(all=True, filters=label)],
            "networks": [n["Name"] for n in api.networks(filters=label)],
            "volumes": [v["Name"] for v in (api.volumes(filters=label).get("Volumes") or [])]}


def test_fire_then_down_leaves_nothing_three_times_over() -> None:
    client = docker_client()
    for attempt in range(3):
        with compose_stack(f"entchaos-teardown{attempt}") as stack:
            survivor = stack.select({"datacenter": "west"})[0]
            # a network fault's helper, still alive in a survivor's namespace when the run is torn down
            helper = client.containers.run(NETTOOLS_IMAGE, ["sleep", "300"], detach=True, auto_remove=False,
                                           network_mode=f"container:{survivor.id}",
                                           labels={"entchaos.helper": "netns"})
            fire = DatacenterFire()
            targets = tuple(TargetRef.of(t) for t in stack.select({"datacenter": "east"}))
            record = FaultRecord("datacenter-fire", "fire", targets, destructive=True)
            ctx = FaultContext(stack, record)
            record = record.with_state(**fire.prepare(ctx))
            fire.inject(FaultContext(stack, record))
            assert fire.check_effect(ctx, record).verified
            project = stack.project
        assert left_of(project) == {"containers": [], "networks": [], "volumes": []}, attempt
        assert not client.api.containers(all=True, filters={"id": helper.id}), "the helper was left behind"


def test_a_helper_whose_start_fails_leaves_no_created_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` creates, then starts: when the start fails (seen in CI: the namespace's container went away between
    the two), the created helper must not stay behind. The engine's refusal is forced at the start."""
    from docker.errors import APIError
    from docker.models.containers import Container

    from chaos.errors import FaultError
    from chaos.stack.netns import NetnsAgent

    client = docker_client()
    before = {c["Id"] for c in client.api.containers(all=True, filters={"label": "entchaos.helper"})}
    target = client.containers.run(NETTOOLS_IMAGE, ["sleep", "60"], detach=True)
    try:
        def refused(self: Container, **kwargs: object) -> None:
            raise APIError("cannot join network of a non running container")

        monkeypatch.setattr(Container, "start", refused)
        with pytest.raises(FaultError), NetnsAgent(target.id):
            pass
    finally:
        monkeypatch.undo()
        target.remove(force=True)
    after = {c["Id"] for c in client.api.containers(all=True, filters={"label": "entchaos.helper"})}
    assert after <= before, "a helper created but never started was left behind"
