"""Read a YAML file written by someone else, within bounds: every malformed input is an `InvalidInput` with file:line.

- only a regular file, at most `MAX_FILE_BYTES` (opened without blocking: a FIFO or a device is refused, not read);
- strict UTF-8 (a UTF-8 byte order mark is allowed, as YAML allows it); Latin-1, UTF-16 or UTF-32 is refused
  with the line and column of the first bad byte;
- nesting at most `MAX_DEPTH`, at most `MAX_NODES` nodes once every alias is expanded (an alias bomb, a merge-key
  bomb or a recursive alias is refused before anything walks it), duplicate keys refused;
- libyaml's parser when present (fast), with our own bounded composer on top of its events.

`compose` returns the node tree (the lines of every value) and `construct` the plain data from it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from chaos.errors import InvalidInput
from chaos.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

MERGE_TAG = "tag:yaml.org,2002:merge"


@dataclass
class YamlProblem(Exception):
    """What was wrong, and the line (1-based) it was found at."""

    line: int
    message: str


def clip(value: Any, limit: int = 60) -> str:
    """`value` as text, at most `limit` characters; a long string is cut *before* it is formatted."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + "…"
    import reprlib

    short = reprlib.Repr()
    short.maxstring, short.maxother, short.maxlevel = limit, limit, 3
    short.maxlist = short.maxtuple = short.maxdict = short.maxset = 6
    text = short.repr(value)
    return text if len(text) <= limit * 2 else text[: limit * 2] + "…"


# ---- bytes -> text ---------------------------------------------------------------------------------------------


def read_bytes(path: str | Path, what: str = "file", *, limit: int = MAX_FILE_BYTES) -> bytes:
    """The whole content of a small regular file; anything else is an `InvalidInput` saying what it is."""
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidInput(f"cannot read the {what}: {exc.strerror}", where=where, fix="check the path") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                    else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise InvalidInput(f"expected a regular {what}, found {kind}", where=where, fix="give a YAML file")
        if info.st_size > limit:
            raise InvalidInput(f"expected a {what} of at most {limit} bytes ({limit >> 10} KiB), found {info.st_size}",
                               where=where, fix="a runbook is a short text file")
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InvalidInput(f"cannot read the {what}: {exc.strerror}", where=where) from None
    finally:
        os.close(fd)
    if size > limit:  # it grew while read
        raise InvalidInput(f"expected a {what} of at most {limit} bytes ({limit >> 10} KiB), found more", where=where)
    return b"".join(chunks)


def decode(data: bytes) -> str:
    """Strict UTF-8 (an initial UTF-8 byte order mark dropped), or a `YamlProblem` at the first bad byte's line."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
                      (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise YamlProblem(1, f"expected UTF-8 text, found a {name} byte order mark: save the file as UTF-8")
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        byte = data[exc.start: exc.start + 1].hex()
        raise YamlProblem(line, f"expected UTF-8 text, found byte 0x{byte} at column {column} (Latin-1? UTF-16?): "
                          "save the file as UTF-8") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise YamlProblem(text.count("\n", 0, nul) + 1, "expected UTF-8 text, found a NUL character (UTF-16? binary?)")
    return text


# ---- text -> nodes, within bounds ------------------------------------------------------------------------------


def _event_line(event: yaml.Event | None) -> int:
    """The line (from 1) where a parser event starts; 0 when the parser gave no position."""
    mark = event.start_mark if event is not None else None
    return mark.line + 1 if mark is not None else 0


class _BoundedComposer(Composer):
    """PyYAML's composer with a depth limit, a node budget and duplicate keys refused."""

    peek_event: Callable[[], yaml.Event | None]  # the parser's it is mixed with (libyaml's or PyYAML's)

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.nodes = 0
        self.first_alias: int | None = None  # its line: where an alias bomb is reported

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if self.first_alias is None and isinstance(event, yaml.AliasEvent):
            self.first_alias = _event_line(event)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlProblem(_event_line(event), f"expected at most {MAX_NODES} values in the document, "
                              "found more")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise YamlProblem(_event_line(event),
                                  f"expected lists and mappings nested at most {MAX_DEPTH} deep, found deeper")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == MERGE_TAG:
                continue
            ident = (key.tag, key.value)
            if ident in seen:
                raise YamlProblem(key.start_mark.line + 1, f"expected each key once in a mapping, found "
                                  f"`{clip(key.value)}` twice (first at line {seen[ident]}): the second would "
                                  "silently replace the first")
            seen[ident] = key.start_mark.line + 1
        return node


class _Constructor(SafeConstructor):
    """SafeConstructor that remembers the node it builds: a value it cannot build (a date out of range, an integer
    of 5000 digits) is reported at that value's line."""

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        self.last_node = node
        return super().construct_object(node, deep)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _CLoader(_BoundedComposer, CParser, _Constructor, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _Loader: type[_CLoader] | type[_PyLoader] = _CLoader
else:  # pragma: no cover - PyYAML without libyaml: the pure-Python parser, same bounds
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _PyLoader(Reader, Scanner, Parser, _BoundedComposer, _Constructor, Resolver):
        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            _BoundedComposer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    _Loader = _PyLoader


def _expanded_size(root: yaml.Node) -> int:
    """Nodes once every alias (and merge key) is expanded, counted without expanding; a cycle is refused."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise YamlProblem(node.start_mark.line + 1, "expected data, found an alias inside its own anchor "
                              "(a recursive structure)")
        active.add(key)
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(key)
        sizes[key] = min(total, MAX_NODES + 1)  # saturate: the sum of a bomb stays a small int
        return sizes[key]

    return size(root)  # depth is bounded by the composer, so the recursion is too


def compose(text: str) -> yaml.Node | None:
    """The node tree of one YAML document, within the bounds, or a `YamlProblem` with its line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        first_alias = loader.first_alias or 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(mark.line + 1 if mark else 1, f"not valid YAML: {clip(exc.problem or exc, 200)}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1 if isinstance(exc.position, int) else 1
        raise YamlProblem(line, f"not valid YAML: a character YAML does not allow ({clip(exc.reason, 80)}, "
                          f"code {exc.character!r})") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, f"not valid YAML: {clip(str(exc), 200)}") from None
    finally:
        loader.dispose()
    if node is not None:
        total = _expanded_size(node)
        if total > MAX_NODES:
            raise YamlProblem(first_alias, f"expected at most {MAX_NODES} values once aliases are "
                              "expanded, found more (an alias bomb?)")
    return node


def construct(node: yaml.Node | None) -> Any:
    """Plain data (dicts, lists, scalars) from a node tree `compose` accepted."""
    if node is None:
        return None
    loader = _Loader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(mark.line + 1 if mark else 1, f"not valid YAML: {clip(exc.problem or exc, 200)}") from None
    except (ValueError, OverflowError) as exc:  # e.g. a timestamp out of range
        line = getattr(loader, "last_node", node).start_mark.line + 1
        raise YamlProblem(line, f"not valid YAML: {clip(str(exc), 200)}") from None
    finally:
        loader.dispose()


def load_file(path: str | Path, what: str = "file") -> tuple[yaml.Node | None, Any]:
    """Read, decode, compose and construct a small YAML file; `InvalidInput` naming path:line otherwise."""
    data = read_bytes(path, what)
    try:
        node = compose(decode(data))
        return node, construct(node)
    except YamlProblem as problem:
        raise InvalidInput(problem.message, where=f"{path}:{problem.line}") from None
