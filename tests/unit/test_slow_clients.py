"""Slow clients against a local server: cut quickly by a header timeout, held to the end without one."""

from __future__ import annotations

import asyncio

from chaos.load.slowloris import run


async def serve(header_timeout_s: float | None) -> tuple[asyncio.AbstractServer, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=header_timeout_s)
        except (TimeoutError, asyncio.IncompleteReadError):
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def attack(header_timeout_s: float | None) -> dict:
    server, port = await serve(header_timeout_s)
    async with server:
        return await run("127.0.0.1", port, connections=5, for_s=1.6, interval_s=0.1)


def test_a_header_timeout_cuts_slow_clients() -> None:
    summary = asyncio.run(attack(0.3))
    assert summary["cut_by_server"] >= 5 * 3  # each slot reconnected several times
    assert 0.25 <= summary["median_held_s"] <= 0.6
    assert summary["max_held_s"] <= 0.8


def test_without_one_they_hang_to_the_end() -> None:
    summary = asyncio.run(attack(None))
    assert summary["cut_by_server"] == 0 and summary["still_open_at_end"] == 5
    assert summary["max_held_s"] >= 1.5 and summary["opened"] == 5
