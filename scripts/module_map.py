"""Print every module of `chaos/` with the first line of its docstring, and say which ones docs/architecture.md
does not name (or names but are gone): `python scripts/module_map.py` (`--check`: only what is out of date).
Exit code 1 when the page is out of date."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"


def modules() -> dict[str, str]:
    """`chaos/...py` (relative to the repository) -> the first sentence of its docstring."""
    found = {}
    for path in sorted((ROOT / "chaos").rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[str(path.relative_to(ROOT))] = doc.split("\n\n")[0].replace("\n", " ")
    return found


def named_in_page() -> set[str]:
    """The modules the page's tree names: each `name.py` line under its package's `name/` line."""
    named, package = set(), ""
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^(\s*)(\S+)(\s|$)", line)
        if not match or not line.startswith("  "):
            continue
        indent, word = len(match.group(1)), match.group(2)
        if indent == 2 and word.endswith("/"):
            package = word
        elif indent == 2 and word.endswith(".py"):
            package = ""
            named.add(f"chaos/{word}")
        elif indent == 4 and word.endswith(".py") and package:
            named.add(f"chaos/{package}{word}")
    return named


def main() -> int:
    found = modules()
    width = max(map(len, found)) + 2
    if "--check" not in sys.argv[1:]:
        for path, doc in found.items():
            sys.stdout.write(f"{path:{width}}{doc[:110]}\n")
    named = named_in_page()
    missing = sorted(set(found) - named - {p for p in found if p.endswith("__init__.py") and p != "chaos/__init__.py"})
    stale = sorted(named - set(found))
    for path in missing:
        sys.stdout.write(f"not in {PAGE.relative_to(ROOT)}: {path}\n")
    for path in stale:
        sys.stdout.write(f"in {PAGE.relative_to(ROOT)} but gone: {path}\n")
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
