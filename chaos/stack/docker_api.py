"""The Docker SDK client, with one clear error when no engine answers."""

from __future__ import annotations

from functools import lru_cache

import docker
from docker.errors import DockerException

from chaos.errors import DockerUnavailable


@lru_cache(maxsize=1)
def docker_client() -> docker.DockerClient:
    """The one Docker SDK client of this process; `DockerUnavailable` when no engine answers."""
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailable(
            f"no Docker engine answers ({exc.__class__.__name__}: {exc})",
            fix="run `make setup` (it installs and starts one), or start dockerd / set DOCKER_HOST",
        ) from exc
    return client


def engine_reachable() -> bool:
    """Whether a Docker engine answers."""
    try:
        docker_client()
    except DockerUnavailable:
        return False
    return True
