"""A fault injected by hand, as the engine would (prepare, inject, check, revert), for the effect tests."""

from __future__ import annotations

import time

from chaos.faults.base import FAULTS, Effect, Fault, FaultContext, FaultRecord, TargetRef
from chaos.log import get_logger
from chaos.stack.interface import Stack

log = get_logger(__name__)


class Injected:
    def __init__(self, stack: Stack, name: str, labels: dict, params: dict | None = None,
                 *, apply: bool = True) -> None:
        self.stack, self.name = stack, name
        self.fault: Fault = FAULTS.get(name)(params or {})
        self.fault.check_supported(stack)
        targets = stack.select(labels)
        assert targets, f"no target for {labels}"
        record = FaultRecord(fault=name, step_id="test", targets=tuple(TargetRef.of(t) for t in targets),
                             params=params or {})
        self.record = record.with_state(**self.fault.prepare(self.ctx(record)))
        if apply:
            self.record = self.fault.inject(self.ctx(self.record))

    def ctx(self, record: FaultRecord) -> FaultContext:
        return FaultContext(self.stack, record)

    def check(self, phase: str) -> Effect:
        t0 = time.monotonic()
        check = self.fault.check_effect if phase == "injected" else self.fault.check_reverted
        effect = check(self.ctx(self.record), self.record)
        log.info("fault_effect_seen", fault=self.name, phase=phase, verified=effect.verified,
                 check_s=round(time.monotonic() - t0, 3), evidence=effect.evidence)
        return effect

    def revert(self) -> None:
        self.fault.revert(self.ctx(self.record), self.record)
