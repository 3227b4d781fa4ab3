"""Shared shape of faults that run tc/iptables in each target's network namespace."""

from __future__ import annotations

from chaos.faults.base import Fault, FaultContext, FaultRecord
from chaos.stack import containers
from chaos.stack.netns import run_in_netns

# Every interface but loopback, inside the target's namespace.
EACH_IFACE = 'for i in $(ls /sys/class/net); do [ "$i" = lo ] && continue; {cmd}; done'


class NetnsFault(Fault):
    """Subclasses give the commands; inject runs them in every target, revert undoes them (idempotent)."""

    def apply_script(self) -> str:
        raise NotImplementedError

    def revert_script(self) -> str:
        raise NotImplementedError

    def inject(self, ctx: FaultContext) -> FaultRecord:
        for target in ctx.targets:
            run_in_netns(target.id, self.apply_script())
        return ctx.record

    def revert(self, ctx: FaultContext, record: FaultRecord) -> None:
        for target in record.targets:
            if containers.is_running(target.id):  # a container that is gone has no rules left
                run_in_netns(target.id, self.revert_script())
