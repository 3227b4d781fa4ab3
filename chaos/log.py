"""structlog, configured once: console lines on a terminal, JSON lines otherwise, and a run's own log.jsonl.

Secrets never leave the process through it: every event goes through `redact_event`, the journal through
`redact_value`, and the command's own stdout/stderr through `protect_output` (see "Secrets" below).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, WrappedLogger

_configured = False
LOG_FORMATS = ("auto", "console", "json")
RUN_LOG_NAME = "log.jsonl"  # in a run's folder: every event of the run, JSON lines


@dataclass
class _Route:
    """Where events go: stderr (at `stderr_level`, in `format`) and, while a run runs, its folder's log.jsonl."""

    stderr_level: int = logging.INFO
    format: str = "auto"
    run_log: TextIO | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


_route = _Route()
_LEVELS = logging.getLevelNamesMapping()
_JSON = structlog.processors.JSONRenderer()


def _colours() -> bool:
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")  # https://no-color.org


def _stderr_text(event: EventDict) -> str:
    """An event as stderr shows it: JSON when asked (or outside a terminal with no run log), else one plain line."""
    json_wanted = _route.format == "json" or (
        _route.format == "auto" and not sys.stderr.isatty() and _route.run_log is None)
    if json_wanted:
        return str(_JSON(None, "", dict(event)))
    return str(structlog.dev.ConsoleRenderer(colors=_colours())(None, "", dict(event)))


def _deliver(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The last processor: writes the event where it belongs (run log, stderr) itself, then drops it."""
    level = _LEVELS.get(str(event.get("level", "info")).upper(), logging.INFO)
    with _route.lock:
        if _route.run_log is not None:
            _route.run_log.write(str(_JSON(None, "", dict(event))) + "\n")
            _route.run_log.flush()
        if level >= _route.stderr_level:
            sys.stderr.write(_stderr_text(event) + "\n")
            sys.stderr.flush()
    raise structlog.DropEvent


def configure(level: str | None = None, *, json: bool | None = None, log_format: str | None = None) -> None:
    """Set up structlog once. stderr gets events at `level` and up: on a terminal as console lines (colours unless
    NO_COLOR), outside one as JSON lines — or, while a run writes its own `log.jsonl`, as plain lines, so that the
    console view is never interleaved with JSON. `log_format` (`auto`, `console`, `json`) overrides; every event
    is redacted."""
    global _configured
    level_name = (level or os.environ.get("ENTCHAOS_LOG_LEVEL", "info")).upper()
    numeric = getattr(logging, level_name, logging.INFO)
    fmt = log_format or ("json" if json else "console" if json is False else
                         os.environ.get("ENTCHAOS_LOG_FORMAT", "auto"))
    if _configured:
        # Already set up with the defaults (a module logged, or asked for a logger, first): what the command
        # asks for explicitly still applies, since events are routed when they happen.
        if level is not None:
            _route.stderr_level = numeric
            if numeric < logging.INFO:
                structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(numeric))
        if log_format is not None or json is not None:
            _route.format = fmt if fmt in LOG_FORMATS else "auto"
        return
    _route.stderr_level, _route.format = numeric, fmt if fmt in LOG_FORMATS else "auto"
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_event,
            _deliver,
        ],
        # a run's log.jsonl keeps info events even when stderr shows only warnings
        wrapper_class=structlog.make_filtering_bound_logger(min(numeric, logging.INFO)),
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=True,
    )
    _configured = True


@contextmanager
def run_log(path: Path) -> Iterator[None]:
    """While inside: every log event is also written, as a JSON line, to `path` (a run folder's log.jsonl)."""
    stream = path.open("a", encoding="utf-8")
    with _route.lock:
        previous, _route.run_log = _route.run_log, stream
    try:
        yield
    finally:
        with _route.lock:
            _route.run_log = previous
        stream.close()


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    configure()
    return structlog.get_logger(name)


# ---- Secrets ------------------------------------------------------------------------------------------------
# Passwords and session keys never appear in logs, journals or reports. What is redacted:
#  - values of keys named like a secret (password, secret, token, authorization, api_key, session_key …);
#  - `password=…` (libpq conninfo, URL queries), `NAME_SECRET=…`/`…PASSWORD=…`/`…TOKEN=…` (env lines, docker
#    inspect, Ansible output), `"password": "…"` (JSON bodies, Python reprs), `Bearer …`, `scheme://user:…@`;
#  - the values of the secrets this process knows: environment variables named like one (ENTCHAOS_APP_SECRET,
#    ENT_SECRET, PGPASSWORD …), the bundled stack's development secrets, and any `add_secret` registers
#    (only values of 6 characters or more: the bundled database password `ent` is caught by the patterns).

MASK = "***"
MIN_SECRET_LEN = 6
_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|SESSION_?KEY)", re.I)
_SECRET_KEY = re.compile(
    r"(^|[_.-])(password|passwd|pwd|secret|token|access_token|authorization|api_?key|session_?key|private_?key)$", re.I)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}"), r"\1 " + MASK),
    (re.compile(r"(?i)(\\*[\"']?\b[a-z0-9_]*(?:password|passwd|secret|token|session_key|api_key)\\*[\"']?\s*[:=]\s*)"
                r"(\\*[\"'])(.*?)\2"), r"\1\2" + MASK + r"\2"),  # also inside JSON in a string: \"password\"
    (re.compile(r"\b([A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY)[A-Z0-9_]*)\s*=\s*(?!\*\*\*)"
                r"('[^']*'|[^\s'\",;&]+)"), r"\1=" + MASK),
    (re.compile(r"(?i)\b(password|passwd|pwd|secret|token|api_key|session_key)\s*=\s*(?!\*\*\*)"
                r"('[^']*'|[^\s'\",;&]+)"), r"\1=" + MASK),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s/]+@"), r"\1" + MASK + "@"),
    # YAML (ansible-runner's env files): `ENTCHAOS_APP_SECRET: value`, unquoted, to the end of the line
    (re.compile(r"(?im)^(\s*-?\s*[a-z0-9_]*(?:password|passwd|secret|token|api_key|session_key)[a-z0-9_]*:[ \t]+)"
                r"(?![\"'*|>])(\S.*)$"), r"\1" + MASK),
)
BUNDLED_SECRETS = ("entchaos-dev-secret-change-me", "entchaos-dev-secret")  # fixtures/: the app's session key
_registered: set[str] = set()


def add_secret(value: str | None) -> None:
    """A value that must never be written out (a password read from a file, a token made at run time)."""
    if value and len(value) >= MIN_SECRET_LEN:
        _registered.add(value)


def secret_values(environ: Iterable[tuple[str, str]] | None = None) -> list[str]:
    """Every secret value known now, longest first (so a secret containing another is masked whole)."""
    env = os.environ.items() if environ is None else environ
    found = frozenset(v for k, v in env if _secret_name(k) and len(v) >= MIN_SECRET_LEN) | _registered
    return _longest_first(found)


@functools.lru_cache(maxsize=1024)
def _secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


@functools.lru_cache(maxsize=64)
def _longest_first(found: frozenset[str]) -> list[str]:
    return sorted(found | set(BUNDLED_SECRETS), key=len, reverse=True)


_MAYBE = re.compile(r"(?i)pass|pwd|secret|token|bearer|basic|_?key|://")  # no pattern can match without one


def redact_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """`text` with every known secret value masked, and every secret-shaped pattern (`password=…`, `Bearer …`)."""
    for value in secret_values() if secrets is None else secrets:
        if value in text:
            text = text.replace(value, MASK)
    if _MAYBE.search(text):
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
    return text


@functools.lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_value(value: Any, secrets: list[str] | None = None) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every secret masked."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: (MASK if isinstance(k, str) and _secret_key(k) and v not in (None, "")
                    and not isinstance(v, bool) else redact_value(v, secrets))
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, secrets) for v in value]
    return value


def redact_event(_logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
    """The structlog processor: every value of every log event (exceptions already formatted) redacted."""
    return redact_value(event)


class RedactingStream(io.TextIOBase, TextIO):
    """A text stream that masks secrets line by line before they reach the real one (stdout, stderr).

    An `io.TextIOBase` at run time; also a `typing.TextIO` (what `sys.stdout` is declared as, and what a view
    writes to), which no `io` class is to a type checker.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            done, self._pending = self._pending[: cut + 1], self._pending[cut + 1:]
            self.stream.write(redact_text(done))
        if len(self._pending) > 65536:  # no line end for that long: let it out
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self.stream.write(redact_text(self._pending))
            self._pending = ""
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]  # typeshed: a writable attribute; at runtime a read-only property
        return getattr(self.stream, "encoding", "utf-8")


def protect_output() -> None:
    """Route this process's stdout and stderr through `RedactingStream` (the `entchaos` command does, first)."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
