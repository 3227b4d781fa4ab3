"""The pytest plugin (entry point `pytest11`): resilience runbooks as tests of a team's own suite.

    @pytest.mark.resilience
    def test_the_fire_loses_nothing(run_runbook):
        result = run_runbook("runbooks/datacenter-fire.yaml")          # a failed verdict fails the test
        assert result.metrics["lost_acked_writes"] == 0

- `entchaos_stack` (session): the stack under test, up and healthy under a project name of its own (host ports
  chosen by Docker for the bundled stack), removed at the end of the session. `--entchaos-compose-file` (or the
  ini option `entchaos_compose_file`) points it at your own compose project, `--entchaos-profile` picks the
  bundled stack's protection profile.
- `run_runbook(path, *, expect="pass", settings=None, overrides=None)`: runs the runbook on that stack and
  returns its `RunbookOutcome`; when the verdict is not `expect`, the test fails with the failed checks listed.
  `settings`: KEY=VALUE stack settings applied first (default: the runbook's `<name>.env` beside it, when there is
  one); `overrides`: a mapping merged into the runbook as a child runbook would (`extends`: sections replaced
  whole, steps merged by id), validated like any runbook.
- the `resilience` marker selects them (`pytest -m resilience`). Without a Docker engine these tests are skipped,
  or fail when `ENTCHAOS_REQUIRE_DOCKER=1`.

Loaded in every pytest session where entchaos is installed: nothing heavy is imported until a fixture is used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from chaos.stack.compose import ComposeStack


@dataclass(frozen=True)
class RunbookOutcome:
    """What a runbook run gave a test: its verdict, figures, checks and where its report is."""

    runbook: str
    verdict: str
    exit_code: int
    reason: str | None
    metrics: Mapping[str, Any]
    checks: list[Mapping[str, Any]] = field(default_factory=list)
    folder: Path | None = None

    @property
    def failed_checks(self) -> list[Mapping[str, Any]]:
        return [c for c in self.checks if not c.get("passed")]

    def explain(self) -> str:
        """The verdict, the reason and every failed check with expected and observed, then the report's place."""
        lines = [f"{self.runbook}: verdict {self.verdict} (exit {self.exit_code})"]
        if self.reason:
            lines.append(f"  why: {self.reason}")
        lines += [f"  ✗ {c.get('name')}: expected {c.get('expected')}, observed {c.get('observed')}"
                  for c in self.failed_checks]
        if self.folder is not None:
            lines.append(f"  report: {self.folder}/report.html")
        return "\n".join(lines)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("entchaos", "entchaos resilience runbooks")
    group.addoption("--entchaos-compose-file", default=None,
                    help="compose project the runbooks run on (default: the bundled ENT stack)")
    group.addoption("--entchaos-profile", default=None, help="protection profile of the bundled stack")
    group.addoption("--entchaos-reports", default=None, help="where the runs' reports go (default: a temp folder)")
    parser.addini("entchaos_compose_file", "compose project the runbooks run on (default: the bundled ENT stack)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "resilience: runs an entchaos runbook on a real stack (needs Docker)")


def _option(config: pytest.Config, name: str) -> str | None:
    value = config.getoption(f"--entchaos-{name.replace('_', '-')}")
    if value is None and name == "compose_file":
        value = config.getini("entchaos_compose_file") or None
    return value


def _docker_or_skip() -> None:
    from chaos.errors import ChaosError
    from chaos.stack.docker_api import docker_client

    try:
        docker_client()
    except ChaosError as exc:
        if os.environ.get("ENTCHAOS_REQUIRE_DOCKER") == "1":
            pytest.fail(f"entchaos: no Docker engine ({exc.message}) and ENTCHAOS_REQUIRE_DOCKER=1", pytrace=False)
        pytest.skip(f"entchaos: no Docker engine: {exc.message}")


@pytest.fixture(scope="session")
def entchaos_stack(request: pytest.FixtureRequest) -> Iterator[ComposeStack]:
    """The stack under test, up and healthy under a project of its own; removed when the session ends."""
    from chaos.stack.compose import ComposeStack, isolated_env
    from chaos.stack.health import wait_ready
    from chaos.stack.profiles import profile_env

    _docker_or_skip()
    compose_file = _option(request.config, "compose_file")
    profile = _option(request.config, "profile")
    stack = ComposeStack(project=f"entchaos-pytest-{uuid.uuid4().hex[:8]}")
    if compose_file:
        stack = ComposeStack(project=stack.project, compose_file=Path(compose_file).resolve())
    if stack.is_bundled:
        from chaos.stack.images import build_all

        build_all()
        stack = ComposeStack(project=stack.project, env={**isolated_env(), **(profile_env(profile) if profile else {})})
    try:
        stack.up()
        wait_ready(stack)
        yield stack
    finally:
        stack.down()


@pytest.fixture
def run_runbook(entchaos_stack: ComposeStack, request: pytest.FixtureRequest,
                tmp_path: Path) -> Callable[..., RunbookOutcome]:
    """`run_runbook(path, *, expect="pass", settings=None, overrides=None) -> RunbookOutcome` on the session's
    stack; a verdict other than `expect` fails the test with the failed checks listed."""
    reports = Path(_option(request.config, "reports") or tmp_path / "reports")

    def run(path: str | Path, *, expect: str | None = "pass", settings: Mapping[str, str] | str | Path | None = None,
            overrides: Mapping[str, Any] | None = None) -> RunbookOutcome:
        outcome = _run(entchaos_stack, Path(path), reports, settings, overrides)
        if expect is not None and outcome.verdict != expect:
            pytest.fail(f"expected the verdict {expect}, got {outcome.verdict}\n{outcome.explain()}", pytrace=False)
        return outcome

    return run


def _run(base: ComposeStack, path: Path, reports: Path, settings: Mapping[str, str] | str | Path | None,
         overrides: Mapping[str, Any] | None) -> RunbookOutcome:
    import yaml

    from chaos.errors import RunbookInvalid
    from chaos.launch import validate

    child = None
    if overrides:  # a child runbook beside it (`extends` reads parents in its folder), merged and validated
        parent = validate(path)
        child = path.parent / f".{path.stem}.override-{uuid.uuid4().hex[:8]}.yaml"
        # A name of its own (a child writes its own reports): `<name>.overrides`.
        metadata = {**parent.metadata.model_dump(), "name": f"{parent.name}.overrides"}
        data = {"extends": path.name, "metadata": metadata, **dict(overrides)}
        child.write_text(yaml.safe_dump(data, sort_keys=False))
    try:  # the child stays while the run goes: its journal names it
        return _run_file(base, child or path, path, reports, settings)
    except RunbookInvalid as exc:
        what = f"the overrides of {path}" if child else str(path)
        pytest.fail(f"{what} cannot run: {exc.message}", pytrace=False)
    finally:
        if child is not None:
            child.unlink(missing_ok=True)


def _run_file(base: ComposeStack, file: Path, given: Path, reports: Path,
              settings: Mapping[str, str] | str | Path | None) -> RunbookOutcome:
    import dataclasses
    import json

    from chaos.launch import run, settings_of, validate
    from chaos.stack.health import wait_ready
    from chaos.stack.profiles import settings_env

    runbook = validate(file)
    if settings is None:
        settings = settings_of(given)
    env = dict(settings) if isinstance(settings, Mapping) else settings_env(settings) if settings else {}
    stack = dataclasses.replace(base, env={**base.env, **env})
    stack.up()  # every time: compose recreates only what differs from the last runbook's settings
    wait_ready(stack)
    result = run(runbook, stack, reports_dir=reports)
    summary_file = result.folder / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.is_file() else {}
    return RunbookOutcome(runbook=runbook.name, verdict=result.verdict, exit_code=result.exit_code,
                          reason=result.reason, metrics=summary.get("metrics") or dict(result.metrics),
                          checks=summary.get("checks") or [], folder=result.folder)
