"""`entchaos faults`: every fault with its parameters, the stacks it runs on, what it needs from the kernel and
whether this machine has it (tried for real by `chaos.stack.capabilities`)."""

from __future__ import annotations

import re
import textwrap
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticUndefined

from chaos.faults.base import FAULTS, Fault
from chaos.stack import capabilities

NEED = re.compile(r"^(?P<name>[a-z0-9-]+)(?: \((?P<when>[^)]*)\))?$")


@dataclass(frozen=True)
class Need:
    """One capability a fault needs (`when`: only in that mode, or only on hosts), and whether it is here."""

    name: str
    when: str | None
    here: bool | None  # None: not tried (no engine, or it is needed on the fleet's hosts)

    def describe(self) -> str:
        what = capabilities.CAPABILITIES[self.name].what if self.name in capabilities.CAPABILITIES else self.name
        if self.when == "on hosts":
            return f"{self.name} on the fleet's hosts (not tried from here)"
        return what + (f" ({self.when})" if self.when else "")


@dataclass(frozen=True)
class Entry:
    name: str
    summary: str
    backends: tuple[str, ...]
    params: tuple[str, ...]
    needs: tuple[Need, ...]
    destructive: bool
    tried: bool = True
    refused_because: str | None = None

    @property
    def verdict_here(self) -> str:
        """`yes`, `no: …`, or per mode when a need is a mode's only."""
        if self.refused_because:
            return f"no, anywhere: {self.refused_because}"
        local = [n for n in self.needs if n.when != "on hosts"]
        if not local:
            return "yes"
        if all(n.here for n in local):
            return "yes"
        if any(n.here is None for n in local):
            return "not tried (--no-try)" if not self.tried else "unknown (no Docker engine to try it)"
        parts = [f"{n.when}: {'yes' if n.here else 'no'}" for n in local if n.when]
        missing = [n.describe() for n in local if not n.when and not n.here]
        return "; ".join([*([f"no: lacks {', '.join(missing)}"] if missing else []), *parts])


def _type(annotation: Any) -> str:
    """A parameter's type as a runbook author reads it: `int | None`, `'proxy' | 'netem'`, `list[str]`."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type(a) for a in args)}]"
    return "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))


def params_of(cls: type[Fault[Any]]) -> tuple[str, ...]:
    """`name: type = default  description` for each parameter of the fault."""
    found = []
    for name, field in cls.Params.model_fields.items():
        default = "" if field.default is PydanticUndefined and field.default_factory is None else (
            f" = {field.default!r}" if field.default_factory is None else " = []")
        required = " (required)" if field.is_required() else ""
        text = f"{name}: {_type(field.annotation)}{default}{required}"
        found.append(text + (f"  {field.description}" if field.description else ""))
    return tuple(found)


def needs_of(cls: type[Fault[Any]], *, try_here: bool) -> tuple[Need, ...]:
    found = []
    for need in cls.needs:
        match = NEED.match(need)
        if match is None:
            raise ValueError(f"{cls.__name__}.needs: {need!r} is not `name` or `name (when)`")
        name, when = match["name"], match["when"]
        on_hosts = when == "on hosts"
        here = capabilities.supported(name) if try_here and not on_hosts and name in capabilities.CAPABILITIES \
            else None
        found.append(Need(name, when, here))
    return tuple(found)


def catalogue(*, try_here: bool = True) -> list[Entry]:
    """Every registered fault, by name."""
    entries = []
    for name in FAULTS.names():
        cls = FAULTS.get(name)
        summary = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())
        entries.append(Entry(name, summary, cls.backends, params_of(cls), needs_of(cls, try_here=try_here),
                             cls.destructive, try_here, cls.refused_because))
    return entries


def render(entries: list[Entry]) -> str:
    """The table `entchaos faults` prints: a block per fault."""
    lines = []
    for e in entries:
        head = f"{e.name}{' (destructive)' if e.destructive else ''}: {e.summary}"
        lines.extend(textwrap.wrap(head, 116, subsequent_indent="    "))
        lines.append(f"    runs on:   {', '.join(e.backends)}")
        for i, param in enumerate(e.params or ("none",)):
            wrapped = textwrap.wrap(param, 100, subsequent_indent="  ")
            lines.extend(f"    {'params:' if i == 0 and j == 0 else '':<11}{w}" for j, w in enumerate(wrapped))
        needs = "; ".join(n.describe() for n in e.needs) or "nothing beyond Docker (or SSH to the hosts)"
        lines.append(f"    needs:     {needs}")
        lines.append(f"    here:      {e.verdict_here}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
