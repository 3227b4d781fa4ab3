"""Shared by the entchaos Ansible modules: one command to HAProxy's runtime API over TCP, its whole answer.

The runtime API chains commands on `;` and newlines, and splits words on spaces: every word put into a command
must match `NAME` (or `MAP_PATH`), and `command` refuses a line with a separator or a control character.
"""

from __future__ import annotations

import re
import socket

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")  # backend, server, table, map key
MAP_PATH = re.compile(r"^/[A-Za-z0-9_./-]{1,255}$")
LINE = re.compile(r"^[A-Za-z0-9_./:=, -]{1,512}$")  # no `;`, newline, `#`, quote, backslash or control


def word(value: str, what: str, pattern: re.Pattern[str] = NAME) -> str:
    """`value` when it is one plain word for the runtime API; ValueError naming `what` otherwise."""
    if not isinstance(value, str) or not pattern.match(value) or ".." in value:
        raise ValueError(f"{what} {value!r} is not a plain name for HAProxy's runtime API")
    return value


def command(host: str, port: int, line: str) -> str:
    if not LINE.match(line) or "  " in line:
        raise ValueError(f"refused to send {line!r} to HAProxy's runtime API: not one plain command")
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
