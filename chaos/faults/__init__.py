"""Faults: one module per fault, each registering itself with `@register("name")`.

See `chaos.faults.base.Fault` for the contract; `chaos.faults.registry` finds the modules.
"""

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, TargetRef, register
from chaos.faults.registry import Registry

__all__ = ["Effect", "Fault", "FaultContext", "FaultRecord", "Registry", "TargetRef", "register"]
