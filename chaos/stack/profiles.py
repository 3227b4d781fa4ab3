"""Protection profiles of the bundled stack (`fixtures/edge/profiles/<name>.env`): compose variables."""

from __future__ import annotations

from pathlib import Path

from chaos.errors import InvalidInput

PROFILES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "edge" / "profiles"


def profile_names() -> list[str]:
    """The names of the bundled edge's protection profiles."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.env"))


def profile_env(name: str) -> dict[str, str]:
    """The variables a profile sets, e.g. {"ENTCHAOS_PROFILE": "unprotected", "ENTCHAOS_APP_MAX_CONCURRENCY": "0"}."""
    path = PROFILES_DIR / f"{name}.env"
    if not path.is_file():
        raise InvalidInput(f"unknown profile {name!r}", where=str(PROFILES_DIR),
                           fix=f"choose among {', '.join(profile_names())}")
    return settings_env(path)


def settings_env(path: str | Path) -> dict[str, str]:
    """KEY=VALUE lines (comments with #): compose variables for `stack up --settings`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(f"cannot read the settings: {exc.strerror}", where=str(path)) from exc
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise InvalidInput(f"expected KEY=VALUE, found {line!r}", where=f"{path}:{number}")
        out[key.strip()] = value.strip()
    return out
