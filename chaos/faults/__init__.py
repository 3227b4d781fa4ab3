"""Faults: one module per fault, each registering itself with `@register("name")`.

See `chaos.faults.base.Fault` for the contract; `chaos.registry` finds the modules.
"""

from chaos.faults.base import Effect, Fault, FaultContext, FaultRecord, TargetRef, register
from chaos.registry import Registry

__all__ = ["Effect", "Fault", "FaultContext", "FaultRecord", "Registry", "TargetRef", "register"]
