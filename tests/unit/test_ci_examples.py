"""The example pipelines (docs/ci/) call only what exists and is documented: every `make` target they name is a
Makefile target the README shows, every `entchaos` command is one the CLI has, every option one it takes.
(Their structure is checked against GitHub's and GitLab's schemas by `make lint`.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from chaos.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = [ROOT / "docs" / "ci" / "github-actions.yml", ROOT / "docs" / "ci" / "gitlab-ci.yml"]


def _scripts(node: object) -> list[str]:
    """Every shell line of a pipeline: GitHub's `run`, GitLab's `script`/`after_script` lists."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key in ("script", "before_script", "after_script") and isinstance(value, list):
                found.extend(str(v) for v in value)
            else:
                found.extend(_scripts(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_scripts(value))
    return found


def _commands(path: Path) -> list[list[str]]:
    commands = []
    for script in _scripts(yaml.safe_load(path.read_text())):
        for line in script.splitlines():
            for part in re.split(r";|\bthen\b|\belse\b|&&|\|\|", line):
                words = shlex.split(part.strip().removeprefix("if ").removeprefix("elif "), posix=True)
                if words and words[0] in ("make", ".venv/bin/entchaos", "entchaos"):
                    commands.append(words)
    return commands


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_the_pipelines_call_only_documented_targets_and_commands(path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    commands = _commands(path)
    assert any(c[:2] == ["make", "setup"] for c in commands) and any(c[:2] == ["make", "chaos-ci"] for c in commands)
    parser = build_parser()
    for words in commands:
        if words[0] == "make":
            target = words[1]
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{path.name}: no make target {target}"
            assert f"make {target}" in readme, f"{path.name}: `make {target}` is not in the README"
            for var in words[2:]:
                name = var.split("=", 1)[0]
                assert f"$({name})" in makefile, f"{path.name}: the Makefile has no variable {name}"
        else:
            args = parser.parse_args(words[1:])  # SystemExit (a failed test) on an unknown command or option
            assert args.command in readme


def test_a_pipeline_calling_an_unknown_target_is_caught(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("jobs: {gate: {steps: [{run: make setup}, {run: make chaos-ci}, {run: make chaos-quick}]}}\n")
    makefile = (ROOT / "Makefile").read_text()
    unknown = [c for c in _commands(bad) if not re.search(rf"^{re.escape(c[1])}:", makefile, re.M)]
    assert unknown == [["make", "chaos-quick"]]
