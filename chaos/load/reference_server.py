"""A tiny HTTP/1.1 server with known behaviour: the truth the load generator is checked against.

Used by the unit tests (every response class, stalls, resets) and by the accuracy benchmark, where it answers
after a fixed delay and stalls everything for a known pause at a known period, so the true latency of every
request follows from its intended send time alone.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos.load.client import stream_transport


@dataclass
class Reply:
    """What the reference server answers: status, headers, body, after a delay, or a misbehaviour (`action`)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok\n"
    delay_s: float = 0.0
    action: str = "respond"  # respond | hang (never answer) | reset (close without answering) | chunked
    reason: str = "OK"


Handler = Callable[[str, str, bytes], Reply]


@dataclass(frozen=True)
class Stall:
    """Everything arriving in [phase + k*period, phase + k*period + pause) waits until the pause ends."""

    period_s: float
    pause_s: float
    phase: float  # a time.monotonic() instant

    def release_at(self, t: float) -> float:
        """When a request arriving at `t` is answered: the end of the stall it falls in, or `t`."""
        k = (t - self.phase) // self.period_s
        start = self.phase + k * self.period_s
        return start + self.pause_s if start <= t < start + self.pause_s else t

    def true_latency(self, intended: float, delay_s: float) -> float:
        """The latency a request sent at `intended` must show: how long the stall held it, plus `delay_s`."""
        return self.release_at(intended) - intended + delay_s


class _ServerProtocol(asyncio.Protocol):
    transport: asyncio.Transport  # set by `connection_made`, before any data arrives

    def __init__(self, handler: Handler, stall: Stall | None) -> None:
        self.handler = handler
        self.stall = stall
        self.buf = b""
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = stream_transport(transport)

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(self.buf) < end + 4 + length:
                return
            body = self.buf[end + 4 : end + 4 + length]
            self.buf = self.buf[end + 4 + length :]
            method, path, _ = head.split("\r\n", 1)[0].split(" ", 2)
            self._answer(self.handler(method, path, body), arrived)

    def _answer(self, reply: Reply, arrived: float) -> None:
        if reply.action == "hang":
            return
        if reply.action == "reset":
            self.transport.abort()
            return
        ready = (self.stall.release_at(arrived) if self.stall else arrived) + reply.delay_s
        delay = ready - time.monotonic()
        if delay > 0:
            self.loop.call_later(delay, self._write, reply)
        else:
            self._write(reply)

    def _write(self, reply: Reply) -> None:
        if self.transport.is_closing():
            return
        head = [f"HTTP/1.1 {reply.status} {reply.reason}"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        if reply.action == "chunked":
            head.append("Transfer-Encoding: chunked")
            mid = len(reply.body) // 2
            chunks = [reply.body[:mid], reply.body[mid:]]
            payload = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks if c) + b"0\r\n\r\n"
            data = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
            # Dribble it out in small writes: the client must reassemble across reads.
            for i in range(0, len(data), 7):
                self.loop.call_soon(self.transport.write, data[i : i + 7])
            return
        head.append(f"Content-Length: {len(reply.body)}")
        self.transport.write(("\r\n".join(head) + "\r\n\r\n").encode() + reply.body)


async def start(
    handler: Handler, *, host: str = "127.0.0.1", port: int = 0, stall: Stall | None = None
) -> tuple[asyncio.Server, int]:
    """Serve `handler` on host:port (0: any free one); the server and its port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _ServerProtocol(handler, stall), host, port, backlog=4096)
    return server, server.sockets[0].getsockname()[1]


def fixed(delay_s: float, body: bytes = b"ok\n") -> Handler:
    """A handler answering 200 with `body` after `delay_s`, whatever is asked."""
    reply = Reply(200, {"X-ENT-Replica": "ref-1", "X-ENT-Datacenter": "ref"}, body, delay_s)
    return lambda method, path, body_in: reply


def main(argv: list[str] | None = None) -> None:
    """`python -m chaos.load.reference_server --port P --delay-ms D [--stall-period S --stall-pause S --phase T]`."""
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--stall-period", type=float, default=0.0)
    p.add_argument("--stall-pause", type=float, default=0.0)
    p.add_argument("--phase", type=float, default=0.0, help="time.monotonic() origin of the stalls")
    a = p.parse_args(argv)
    stall = Stall(a.stall_period, a.stall_pause, a.phase) if a.stall_period > 0 else None

    async def serve() -> None:
        server, _ = await start(fixed(a.delay_ms / 1000.0), port=a.port, stall=stall)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
