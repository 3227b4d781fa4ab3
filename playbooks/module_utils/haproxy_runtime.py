"""Shared by the entchaos Ansible modules: one command to HAProxy's runtime API over TCP, its whole answer."""

from __future__ import annotations

import socket


def command(host: str, port: int, line: str) -> str:
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(line.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
