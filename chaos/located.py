"""Where a value of a runbook was written: the file and line of every problem, across `extends`.

A runbook that extends another is one merged node tree whose nodes come from several files. `origins` names the
file of each node taken from a parent (and every node under it); a node with no entry is from the file above it,
the runbook given for the root. A problem in a parent's text names the parent's file:line and the runbook that
extends it (`via`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

Loc = tuple[str | int, ...]
MAX_MESSAGE = 400  # characters of one problem's message


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a runbook: file:line, the field's dotted path, what was expected and found."""

    file: str
    line: int
    path: str
    message: str
    via: str = ""  # when `file` is a parent: the runbook that extends it, `child.yaml:LINE`

    def __post_init__(self) -> None:  # a message quotes the runbook: never more than a screen of it
        if len(self.message) > MAX_MESSAGE:
            object.__setattr__(self, "message", self.message[:MAX_MESSAGE] + "…")
        if len(self.path) > MAX_MESSAGE:
            object.__setattr__(self, "path", self.path[:MAX_MESSAGE] + "…")

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path or '<top>'}: {self.message}{self.extended_by()}"

    def extended_by(self) -> str:
        """` (extended by child.yaml:4)` for a problem in a parent's text, else nothing."""
        return f" (extended by {self.via})" if self.via else ""


@dataclass
class Locator:
    """Walks a pydantic error location (or a loader's own) back through the node tree to file:line."""

    source: str
    root: yaml.Node | None
    origins: Mapping[int, str] = field(default_factory=dict)  # id(node) -> the file it was written in
    via: Mapping[str, str] = field(default_factory=dict)  # a parent file -> `child.yaml:LINE` that extends it

    def where(self, loc: Loc) -> tuple[str, int]:
        """The file and the 1-based line of the value at `loc` (of the mapping that lacks it, if missing)."""
        node, file = self.root, self.source
        if node is None:
            return file, 1
        file = self.origins.get(id(node), file)
        for index, part in enumerate(loc):
            if isinstance(part, str) and part.startswith("<"):  # a union tag, not a YAML key
                continue
            last = index == len(loc) - 1
            if isinstance(node, yaml.MappingNode):
                pair = next(((k, v) for k, v in node.value if k.value == part), None)
                if pair is None:
                    break  # a missing field: point at the mapping that lacks it
                node = pair[0] if last else pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                break
            file = self.origins.get(id(node), file)
        return file, node.start_mark.line + 1

    def line(self, loc: Loc) -> int:
        return self.where(loc)[1]

    def file(self, loc: Loc) -> str:
        return self.where(loc)[0]

    def problem(self, loc: Loc, message: str) -> Problem:
        file, line = self.where(loc)
        return Problem(file, line, dotted(loc), message, self.via.get(file, ""))


def dotted(loc: Loc) -> str:
    """`steps[2].params.key` from a location; union tags and pydantic's `[key]` mark left out."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith("<") and part != "[key]":  # "[key]": pydantic's mark for a mapping's key
            out += f".{part}" if out else part
    return out
