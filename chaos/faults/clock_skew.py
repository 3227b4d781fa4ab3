"""clock-skew: refused, with the reason. One container's wall clock cannot be moved without touching the host's.

Containers share the host kernel's CLOCK_REALTIME. Linux time namespaces (5.6+) offset only CLOCK_MONOTONIC and
CLOCK_BOOTTIME, and only for processes started in them. What remains is changing the host's clock (which entchaos
never does: every container, the engine and the toolkit's own measurements would jump with it) or preloading
libfaketime into the target's processes, which means restarting them with a changed environment: a different
deployment, not a fault injected into a running service. Chaos Mesh's TimeChaos does the latter by injecting code
into the running processes (ptrace), which entchaos does not do either.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chaos.errors import UnsupportedFault
from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, register
from chaos.stack.interface import Stack

WHY = ("clock-skew cannot move one container's wall clock: containers share the host's CLOCK_REALTIME, and time "
       "namespaces offset only the monotonic and boot clocks; entchaos never changes the host's clock")


class ClockSkewParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offset_s: float = Field(ge=-31_536_000, le=31_536_000, strict=True, allow_inf_nan=False,
                            description="how far the target's clock would be moved")


@register("clock-skew")
class ClockSkew(Fault[ClockSkewParams]):
    """Refused before any run, with the reason (see the module): listed so the table says so."""

    backends = ("compose", "inventory")
    refused_because = WHY

    def check_supported(self, stack: Stack) -> None:
        raise UnsupportedFault(WHY, fix="test clock handling with libfaketime in your own image (FAKETIME), or on "
                                        "a disposable VM whose clock you may set")

    def inject(self, ctx: FaultContext) -> FaultRecord:
        raise UnsupportedFault(WHY)

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        """Nothing was ever injected."""

    def check_effect(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Nothing to measure: never verified (it is refused before any run, so this is never reached)."""
        return Effect(False, {"refused": WHY})

    def check_reverted(self, ctx: FaultContext, record: FaultRecord) -> Effect:
        """Nothing was injected, so nothing remains."""
        return Effect(True, {"refused": WHY})
