"""The remediation playbooks on the real ENT stack, with typed parameters and facts passed as `!unsafe` data:
a fire on sbg, the failover, then the rebuild; only chaos-allowed services and volumes are acted on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chaos.errors import InvalidInput
from chaos.faults.base import FAULTS, Effect, FaultContext, FaultRecord, TargetRef, poll_effect
from chaos.remediation.runner import run_playbook_or_raise
from chaos.stack import containers
from chaos.stack.compose import ComposeStack
from chaos.stack.database import current_primary, node_state
from tests.integration.conftest import running_stack

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    with running_stack(ENTCHAOS_SYNC_REPLICATION="on") as stack:
        yield stack


def test_fire_failover_rebuild_through_the_typed_playbooks(stack: ComposeStack, tmp_path) -> None:
    with pytest.raises(InvalidInput, match="extravars do not fit"):
        run_playbook_or_raise("rebuild-datacenter", stack, {"datacenter": "sbg", "compose_cmd": ["true"]},
                              artifacts_root=tmp_path)
    fire = FAULTS.get("datacenter-fire")({})
    targets = tuple(TargetRef.of(t) for t in stack.select({"datacenter": "sbg"}))
    record = FaultRecord("datacenter-fire", "fire", targets, destructive=True)
    record = record.with_state(**fire.prepare(FaultContext(stack, record)))
    assert record.state["volumes"] == [f"{stack.project}_db-sbg-data"]
    fire.inject(FaultContext(stack, record))
    assert fire.check_effect(FaultContext(stack, record), record).verified

    run_playbook_or_raise("failover-database", stack, {"failed_datacenter": "sbg"}, artifacts_root=tmp_path)
    assert current_primary(stack) == "db-rbx"
    run_playbook_or_raise("rebuild-datacenter", stack, {"datacenter": "sbg"}, artifacts_root=tmp_path)
    assert fire.check_reverted(FaultContext(stack, record), record).verified
    assert current_primary(stack) == "db-rbx"
    modes = poll_effect(lambda: Effect(("db-sbg", "sync") in node_state(stack, "db-rbx").standbys,
                                       {"standbys": node_state(stack, "db-rbx").standbys}),
                        deadline_s=20, interval_s=0.5)
    assert modes.verified, modes.evidence  # the rebuilt standby streams, synchronous again
    assert containers.volume_exists(f"{stack.project}_db-rbx-data")
