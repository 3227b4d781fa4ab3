"""`extends: <runbook>`: a runbook built on another, merged as data (YAML nodes) before anything is validated.

Nothing is executed or templated. The path is relative to the extending runbook and, once symbolic links are
resolved, stays inside that runbook's folder (its tree) or the shipped `runbooks/` folder; a chain is at most
`MAX_EXTENDS` deep and never comes back to a runbook already in it.

The merge, child over parent:
- every top-level key the child gives replaces the parent's (`load`, `hypothesis`, `verify`, `stop_conditions` …);
- `metadata` is merged key by key, and `metadata.name` must be the child's own (its reports go to their own folder);
- `steps` and `rollback` are merged by step id: a child step with a parent step's id replaces it in place; a new
  step goes `after: <id>` or `before: <id>` (several `after` the same step keep the order they are written in),
  else at the end; `remove_steps: [ids]` drops parent steps first.
The merged runbook is then validated whole (references between steps, windows, …); every problem names the file and
line where the offending text is, and for a parent's text the runbook that extends it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from chaos import safe_yaml
from chaos.errors import InvalidInput
from chaos.located import Problem
from chaos.safe_yaml import YamlProblem, clip, decode, read_bytes

MAX_EXTENDS = 4  # parents in one chain
SHIPPED = Path(__file__).resolve().parents[2] / "runbooks"  # the runbooks that come with entchaos
STEP_LISTS = ("steps", "rollback")
PLACES = ("after", "before")
WORDS = ("extends", "remove_steps", *PLACES)  # the keys this module consumes: known to the loader's suggestions


class ExtendsProblems(Exception):
    """Problems found while reading or merging the runbooks of an `extends` chain."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problems")
        self.problems = problems


@dataclass
class Merged:
    """A runbook's node tree with its `extends` chain merged in, and the file each inherited node came from."""

    root: yaml.Node | None
    origins: dict[int, str] = field(default_factory=dict)  # id(node) -> file, for nodes taken from a parent
    via: dict[str, str] = field(default_factory=dict)  # parent file -> `child.yaml:LINE` (and so on up the chain)
    keep: list[yaml.Node] = field(default_factory=list)  # the nodes `origins` names, alive as long as it is


def resolve(root: yaml.Node | None, source: str, chain: tuple[Path, ...] = ()) -> Merged:
    """The runbook `source` (composed as `root`) with its parents merged in; `ExtendsProblems` otherwise."""
    if not isinstance(root, yaml.MappingNode):
        return Merged(root)  # the loader says what a runbook should be
    extends = _pair(root, "extends")
    if extends is None:
        problems = list(_misplaced(root, source))
        if problems:
            raise ExtendsProblems(problems)
        return Merged(root)
    key, value = extends
    here = f"{source}:{_line(key)}"
    if not chain and Path(source).is_file():
        chain = (Path(source).resolve(),)  # the runbook given: a parent may not come back to it either
    parent_path, shown = _parent_path(value, source, chain)
    parent_root = _read_parent(parent_path, shown, value, source, here)
    try:
        parent = resolve(parent_root, shown, (*chain, parent_path))
    except ExtendsProblems as exc:
        raise ExtendsProblems([_extended(p, here) for p in exc.problems]) from None
    if parent.root is not None and not isinstance(parent.root, yaml.MappingNode):
        raise ExtendsProblems([Problem(shown, parent.root.start_mark.line + 1, "", "expected a runbook to extend "
                                       "(a mapping: metadata, steps, …), found something else", here)])
    return _Merger(root, source, parent, shown, here).merge()


def _extended(problem: Problem, here: str) -> Problem:
    """A problem found in a parent (or further up), which `here` (`child.yaml:LINE`) extends."""
    via = f"{problem.via}, extended by {here}" if problem.via else here
    return Problem(problem.file, problem.line, problem.path, problem.message, via)


def _pair(mapping: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    return next(((k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def _scalar(node: yaml.Node) -> str | None:
    """A plain string value (not a number, a list, a mapping), else None."""
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str" and node.value:
        return str(node.value)
    return None


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _problem(source: str, node: yaml.Node, path: str, message: str) -> ExtendsProblems:
    return ExtendsProblems([Problem(source, _line(node), path, message)])


def _parent_path(value: yaml.Node, source: str, chain: tuple[Path, ...]) -> tuple[Path, str]:
    """The parent's resolved path (inside the runbook's folder or the shipped runbooks), and how to show it.

    `chain`: the resolved runbooks already in the chain, the one given first.
    """
    name = _scalar(value)
    if name is None:
        raise _problem(source, value, "extends", "expected the path of a runbook, relative to this one (e.g. "
                       "`datacenter-fire.yaml`), found something else")
    folder = Path(source).resolve().parent if Path(source).is_file() else Path.cwd().resolve()
    path = (folder / name).resolve()
    if not (path.is_relative_to(folder) or path.is_relative_to(SHIPPED)):
        raise _problem(source, value, "extends", f"expected a runbook inside this runbook's folder {clip(str(folder))} "
                       f"or the shipped runbooks {clip(str(SHIPPED))}, found `{clip(name)}` (outside both)")
    names = " → ".join(clip(p.name, 40) for p in (*chain, path))
    if path in chain:
        raise _problem(source, value, "extends", f"expected a runbook that does not extend itself, found a cycle "
                       f"({names})")
    if len(chain) > MAX_EXTENDS:
        raise _problem(source, value, "extends", f"expected at most {MAX_EXTENDS} runbooks extended one by the "
                       f"other, found more ({names})")
    return path, (name if Path(name).is_absolute() else os.path.normpath(Path(source).parent / name))


def _read_parent(path: Path, shown: str, value: yaml.Node, source: str, here: str) -> yaml.Node | None:
    """The parent's node tree, read within the same bounds as any runbook (a small regular UTF-8 file …)."""
    try:
        data = read_bytes(path, "runbook")
    except InvalidInput as exc:
        raise _problem(source, value, "extends", f"expected a runbook to extend, found: {exc.what} "
                       f"({clip(str(path), 120)})") from None
    try:
        root = safe_yaml.compose(decode(data))
        safe_yaml.construct(root)  # a value that cannot be built (a date out of range) is found in its own file
        return root
    except YamlProblem as problem:
        raise ExtendsProblems([Problem(shown, problem.line, "", problem.message, here)]) from None


def _misplaced(root: yaml.MappingNode, source: str) -> Iterator[Problem]:
    """`remove_steps`, `after` and `before` only mean something in a runbook that extends another."""
    removal = _pair(root, "remove_steps")
    if removal is not None:
        yield Problem(source, _line(removal[0]), "remove_steps", "expected `remove_steps` only in a runbook that "
                      "`extends` another, found it in one that extends none")
    for section in STEP_LISTS:
        found = _pair(root, section)
        if found is None or not isinstance(found[1], yaml.SequenceNode):
            continue
        for i, item in enumerate(found[1].value):
            for key, _ in item.value if isinstance(item, yaml.MappingNode) else []:
                if key.value in PLACES:
                    yield Problem(source, _line(key), f"{section}[{i}].{key.value}", f"expected `{key.value}` only "
                                  "in a runbook that `extends` another (it places a step among the parent's), found "
                                  "it in one that extends none")


class _Merger:
    """The child's node tree over its (already merged) parent's: see the module's docstring for the rules."""

    def __init__(self, child: yaml.MappingNode, source: str, parent: Merged, parent_file: str, here: str) -> None:
        self.child, self.source, self.parent = child, source, parent
        self.parent_file, self.here = parent_file, here
        self.origins = dict(parent.origins)
        self.via = {parent_file: here, **{f: f"{v}, extended by {here}" for f, v in parent.via.items()}}
        self.keep = list(parent.keep)
        self.problems: list[Problem] = []

    def inherit(self, container: yaml.Node | None, *nodes: yaml.Node) -> None:
        """Nodes taken from the parent's `container`: a problem in them is in the file that container came from."""
        file = self.origins.get(id(container), self.parent_file)
        for node in nodes:
            self.origins.setdefault(id(node), file)
            self.keep.append(node)

    def own(self, node: yaml.Node) -> yaml.Node:
        """A node the merge made (a mapping, a list) in this runbook: what it holds is from here unless inherited."""
        self.origins[id(node)] = self.source
        self.keep.append(node)
        return node

    def merge(self) -> Merged:
        """The merged root: the parent's keys, the child's over them; `ExtendsProblems` for what does not fit."""
        parent = self.parent.root
        pairs: list[tuple[yaml.Node, yaml.Node]] = []
        if isinstance(parent, yaml.MappingNode):
            for key, value in parent.value:
                self.inherit(parent, key, value)
                pairs.append((key, value))
        removal = _pair(self.child, "remove_steps")
        removed = self.remove(pairs, removal[1]) if removal is not None else set()
        for key, value in self.child.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name in ("extends", "remove_steps"):
                continue
            at = next((i for i, (k, _) in enumerate(pairs) if k.value == name), None)
            if at is not None and name == "metadata":
                value = self.metadata(pairs[at][1], value)
            elif at is not None and name in STEP_LISTS:
                value = self.steps(str(name), pairs[at][1], value, removed)
            if at is None:
                pairs.append((key, value))
            else:
                pairs[at] = (key, value)
        self.own_name(parent)
        if self.problems:
            raise ExtendsProblems(self.problems)
        root = yaml.MappingNode(self.child.tag, pairs, self.child.start_mark, self.child.end_mark,
                                self.child.flow_style)
        return Merged(root, self.origins, self.via, self.keep)

    def own_name(self, parent: yaml.Node | None) -> None:
        """The child names itself: its reports must not land in the parent's folder."""
        meta = _pair(self.child, "metadata")
        name = _pair(meta[1], "name") if meta is not None and isinstance(meta[1], yaml.MappingNode) else None
        if name is None:
            node = meta[0] if meta is not None else self.child
            self.problems.append(Problem(self.source, _line(node), "metadata.name", "expected a `metadata.name` of "
                                         "this runbook's own (a runbook that extends another writes its own reports), "
                                         "found none"))
            return
        theirs = _pair(parent, "metadata") if isinstance(parent, yaml.MappingNode) else None
        same = _pair(theirs[1], "name") if theirs is not None and isinstance(theirs[1], yaml.MappingNode) else None
        if same is not None and isinstance(name[1], yaml.ScalarNode) and same[1].value == name[1].value:
            self.problems.append(Problem(self.source, _line(name[1]), "metadata.name", f"expected a name other "
                                         f"than {self.parent_file}'s, found the same `{clip(name[1].value)}`"))

    def metadata(self, parent: yaml.Node, child: yaml.Node) -> yaml.Node:
        """Key by key: the child's description and story over the parent's, its own name."""
        if not (isinstance(parent, yaml.MappingNode) and isinstance(child, yaml.MappingNode)):
            return child
        pairs = list(parent.value)
        for key, value in pairs:
            self.inherit(parent, key, value)
        for key, value in child.value:
            at = next((i for i, (k, _) in enumerate(pairs) if k.value == key.value), None)
            if at is None:
                pairs.append((key, value))
            else:
                pairs[at] = (key, value)
        return self.own(yaml.MappingNode(child.tag, pairs, child.start_mark, child.end_mark, child.flow_style))

    def remove(self, pairs: list[tuple[yaml.Node, yaml.Node]], ids: yaml.Node) -> set[str]:
        """Drop the parent's steps named by `remove_steps` (in `steps` or `rollback`)."""
        items = ids.value if isinstance(ids, yaml.SequenceNode) else [ids]
        removed: set[str] = set()
        for item in items:
            step_id = _scalar(item)
            found = False
            for i, (key, value) in enumerate(pairs):
                if key.value in STEP_LISTS and isinstance(value, yaml.SequenceNode) and step_id is not None:
                    kept = [s for s in value.value if _step_id(s) != step_id]
                    if len(kept) < len(value.value):
                        found = True
                        pairs[i] = (key, self._pruned(value, kept))
            if found and step_id is not None:
                removed.add(step_id)
            else:
                known = ", ".join(_ids(pairs)) or "none"
                self.problems.append(Problem(self.source, _line(item), "remove_steps", f"expected the id of a step "
                                             f"of {self.parent_file} ({clip(known, 200)}), found "
                                             f"`{clip(str(item.value) if step_id is None else step_id)}`"))
        return removed

    def _pruned(self, like: yaml.SequenceNode, items: list[yaml.Node]) -> yaml.SequenceNode:
        """The parent's list without some steps: still the parent's text."""
        node = yaml.SequenceNode(like.tag, items, like.start_mark, like.end_mark, like.flow_style)
        self.origins[id(node)] = self.origins.get(id(like), self.parent_file)
        self.keep.append(node)
        return node

    def steps(self, section: str, parent: yaml.Node, child: yaml.Node, removed: set[str]) -> yaml.Node:
        """The parent's steps, with the child's replacing (same id), placed (`after`, `before`) or appended."""
        if not (isinstance(parent, yaml.SequenceNode) and isinstance(child, yaml.SequenceNode)):
            return child  # the loader says what is wrong with it
        merged = list(parent.value)
        self.inherit(parent, *merged)
        last_after: dict[str, yaml.Node] = {}  # several steps `after: x` stay in the order they are written
        for i, item in enumerate(child.value):
            if not isinstance(item, yaml.MappingNode):
                merged.append(item)
                continue
            places = [(k, v) for k, v in item.value if isinstance(k, yaml.ScalarNode) and k.value in PLACES]
            step = yaml.MappingNode(item.tag, [(k, v) for k, v in item.value if (k, v) not in places],
                                    item.start_mark, item.end_mark, item.flow_style)
            self.own(step)
            step_id = _step_id(step)
            same = next((s for s in merged if step_id is not None and _step_id(s) == step_id), None)
            if len(places) > 1:
                self.problems.append(Problem(self.source, _line(places[1][0]), f"{section}[{i}]", "expected one "
                                             "of `after` or `before`, found both"))
                continue
            if not places:
                if same is not None:
                    merged[merged.index(same)] = step
                else:
                    merged.append(step)
                continue
            [(key, value)] = places
            anchor = _scalar(value)
            if same is not None:
                merged.remove(same)
            target = next((s for s in merged if anchor is not None and _step_id(s) == anchor), None)
            if target is None:
                gone = " (removed by `remove_steps`)" if anchor in removed else ""
                known = ", ".join(i for i in map(_step_id, merged) if i) or "none"
                self.problems.append(Problem(self.source, _line(value), f"{section}[{i}].{key.value}", f"expected "
                                             f"the id of a step of {self.parent_file} or of this runbook "
                                             f"({clip(known, 200)}), found `{clip(str(value.value))}`{gone}"))
                continue
            if key.value == "after":
                previous = last_after.get(str(anchor), target)
                at = merged.index(previous if previous in merged else target) + 1
                last_after[str(anchor)] = step
            else:
                at = merged.index(target)
            merged.insert(at, step)
        return self.own(yaml.SequenceNode(child.tag, merged, child.start_mark, child.end_mark, child.flow_style))


def _step_id(step: yaml.Node) -> str | None:
    if not isinstance(step, yaml.MappingNode):
        return None
    found = _pair(step, "id")
    return _scalar(found[1]) if found is not None else None


def _ids(pairs: list[tuple[yaml.Node, yaml.Node]]) -> list[str]:
    out: list[str] = []
    for key, value in pairs:
        if key.value in STEP_LISTS and isinstance(value, yaml.SequenceNode):
            out += [i for i in map(_step_id, value.value) if i]
    return out
