"""Shared test policy: integration tests need Docker; with ENTCHAOS_REQUIRE_DOCKER=1 they fail instead of skipping."""

from __future__ import annotations

import os

import pytest

REQUIRE_DOCKER = os.environ.get("ENTCHAOS_REQUIRE_DOCKER") == "1"


def docker_problem() -> str | None:
    """None when the engine answers and the bundled images exist, else why not."""
    from chaos.errors import ChaosError
    from chaos.stack.docker_api import docker_client
    from chaos.stack.images import IMAGES

    try:
        client = docker_client()
    except ChaosError as exc:
        return exc.message
    missing = [spec.tag for spec in IMAGES if not client.images.list(name=spec.tag)]
    if missing:
        return f"images missing: {', '.join(missing)} (run `make setup`)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    docker_items = [i for i in items if i.get_closest_marker("docker")]
    if not docker_items:
        return
    problem = docker_problem()
    if problem is None:
        return
    if REQUIRE_DOCKER:
        for item in docker_items:
            item.add_marker(pytest.mark.usefixtures("_docker_required"))
        config._entchaos_docker_problem = problem  # type: ignore[attr-defined]
    else:
        skip = pytest.mark.skip(reason=f"no Docker for integration tests: {problem}")
        for item in docker_items:
            item.add_marker(skip)


@pytest.fixture
def _docker_required(request: pytest.FixtureRequest) -> None:
    problem = getattr(request.config, "_entchaos_docker_problem", None)
    if problem:
        pytest.fail(f"ENTCHAOS_REQUIRE_DOCKER=1 but Docker is not usable: {problem}", pytrace=False)
