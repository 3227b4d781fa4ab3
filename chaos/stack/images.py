"""Build the stack's images FROM the base image, skipping those whose sources did not change."""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from docker.errors import APIError, BuildError, ImageNotFound

from chaos.errors import EnvironmentProblem
from chaos.log import get_logger
from chaos.stack.compose import PROJECT_ROOT
from chaos.stack.docker_api import docker_client

log = get_logger(__name__)

FIXTURES = PROJECT_ROOT / "fixtures"
BASE_IMAGE = os.environ.get("ENTCHAOS_BASE_IMAGE", "entchaos/base:bookworm")
HASH_LABEL = "entchaos.context-hash"


@dataclass(frozen=True)
class ImageSpec:
    """One image the toolkit builds: its tag, its build context and what decides a rebuild."""

    tag: str
    context: Path
    dockerfile: str = "Dockerfile"  # relative to the context
    sources: tuple[Path, ...] = ()  # what decides a rebuild; default: the whole context
    base: str = BASE_IMAGE  # the image it is built FROM (the Dockerfile's BASE_IMAGE argument)

    def context_hash(self, base_id: str = "") -> str:
        """A digest of the base image and of every source file: the image is rebuilt when it changes."""
        digest = hashlib.sha256(f"{self.base}@{base_id}".encode())
        for root in self.sources or (self.context,):
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                if "__pycache__" in path.parts:
                    continue
                digest.update(str(path.relative_to(self.context)).encode())
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


# Images of the bundled stack and of the toolkit's helper containers.
IMAGES = (
    ImageSpec("entchaos/postgres:latest", FIXTURES / "postgres"),
    ImageSpec("entchaos/edge:latest", FIXTURES / "edge"),
    ImageSpec("entchaos/fallback:latest", FIXTURES / "fallback"),
    ImageSpec("entchaos/ent-app:latest", FIXTURES / "ent_app"),
    ImageSpec("entchaos/nettools:latest", FIXTURES / "images" / "nettools"),
    ImageSpec(
        "entchaos/client:latest",
        PROJECT_ROOT,
        dockerfile="fixtures/images/client/Dockerfile",
        sources=(PROJECT_ROOT / "fixtures/images/client", PROJECT_ROOT / "chaos", PROJECT_ROOT / "pyproject.toml"),
    ),
)


# The test fleet's hosts: each FROM the stack's image of its role, plus sshd and an init script (fixtures/fleet).
FLEET_IMAGES = tuple(
    ImageSpec(f"entchaos/fleet-{role}:latest", FIXTURES / "fleet" / "host", base=f"entchaos/{image}:latest")
    for role, image in (("edge", "edge"), ("fallback", "fallback"), ("app", "ent-app"), ("db", "postgres"),
                        ("loadgen", "client"))
)


def current_hash(tag: str) -> str | None:
    """The context hash the image was built from (None when there is no such image)."""
    try:
        image = docker_client().images.get(tag)
    except ImageNotFound:
        return None
    return (image.labels or {}).get(HASH_LABEL)


def build_image(spec: ImageSpec, *, force: bool = False, no_cache: bool = False) -> bool:
    """Build one image; returns False when it was already up to date."""
    try:
        base_id = docker_client().images.get(spec.base).id
    except ImageNotFound as exc:
        raise EnvironmentProblem(
            f"base image {spec.base} is missing", fix="run `make setup` (it builds it with debootstrap)"
        ) from exc
    # A new base image (or a changed source) rebuilds; nothing else does.
    wanted = spec.context_hash(base_id)
    if not force and current_hash(spec.tag) == wanted:
        log.info("image_up_to_date", image=spec.tag)
        return False
    log.info("image_building", image=spec.tag, context=str(spec.context.relative_to(PROJECT_ROOT)))
    started = time.monotonic()
    api = docker_client().api
    tail: list[str] = []
    try:
        # network_mode=host: apt and pip inside the build reach the same mirrors as the host.
        for chunk in api.build(
            path=str(spec.context),
            dockerfile=spec.dockerfile,
            tag=spec.tag,
            buildargs={"BASE_IMAGE": spec.base},
            labels={HASH_LABEL: wanted},
            network_mode="host",
            rm=True,
            forcerm=True,
            nocache=no_cache,
            decode=True,
        ):
            if "error" in chunk:
                raise BuildError(chunk["error"], tail)
            line = (chunk.get("stream") or "").strip()
            if line:
                tail = [*tail[-19:], line]
                if line.startswith("Step "):
                    log.info("image_build_step", image=spec.tag, step=line[:120])
    except (BuildError, APIError) as exc:
        detail = " | ".join(tail[-6:])
        raise EnvironmentProblem(
            f"building {spec.tag} failed: {exc} ({detail})",
            where=str(spec.context / "Dockerfile"),
            fix="read the build output above; apt and pip must reach their mirrors from this host",
        ) from exc
    log.info("image_built", image=spec.tag, seconds=round(time.monotonic() - started, 1))
    return True


def build_all(*, force: bool = False, no_cache: bool = False) -> list[str]:
    """Build every image that is out of date (all of them with `force`); the tags built."""
    return [spec.tag for spec in IMAGES if build_image(spec, force=force or no_cache, no_cache=no_cache)]


def build_fleet(*, force: bool = False) -> list[str]:
    """The stack's images, then the test fleet's hosts built FROM them (those out of date); the tags built."""
    built = build_all()
    return built + [spec.tag for spec in FLEET_IMAGES if build_image(spec, force=force)]
