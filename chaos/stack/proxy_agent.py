"""The fault proxy the `latency` and `http-fault` faults place in a target's network namespace (stdlib only: `python3
-c` in nettools). Not imported by the toolkit: `chaos.faults.proxy` sends this file's source to a helper container
that shares the target's namespace, where an iptables REDIRECT sends it the traffic of one port.

    python3 proxy_agent.py LISTEN_PORT RULES_JSON

Each accepted connection is forwarded to its original destination (SO_ORIGINAL_DST: the target's own address and
port; a connection from the proxy itself is not redirected, so there is no loop). RULES_JSON:

    abort_percent     share of connections reset at once (a RST, nothing read)
    delay_ms, jitter_ms   every chunk of the answer held back that long (± jitter, in order)
    http: {status, percent, delay_ms, path_prefix, method}
                      requests whose head matches (method, path prefix) are, for `percent` of them, answered
                      `status` by the proxy (never reaching the service) or held `delay_ms` before going on

Requests are read head by head (Content-Length and chunked bodies followed), so every request of a keep-alive
connection is judged, not only the first; a client that pipelines sees its faulted answer before earlier ones (the
ENT's and usual clients do not pipeline). Prints "ready" once listening; counts what it did on stderr (every 0.1 s,
when changed).
"""

import asyncio
import contextlib
import json
import random
import socket
import struct
import sys
import time

SO_ORIGINAL_DST = 80
READ = 65536
HEAD_MAX = 65536
REPORT_S = 0.1  # what it did, written this often when it changed


def original_destination(sock: socket.socket) -> tuple:
    """Where the client meant to connect before the REDIRECT (IPv4)."""
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack_from("!2xH4s", raw)
    return socket.inet_ntoa(packed), port


class Proxy:
    def __init__(self, rules: dict) -> None:
        self.rules = rules
        self.http = rules.get("http") or {}
        self.counts = {"connections": 0, "aborted": 0, "requests": 0, "faulted": 0, "delayed": 0}

    def hold_s(self) -> float:
        delay, jitter = self.rules.get("delay_ms", 0), self.rules.get("jitter_ms", 0)
        return max(0.0, delay + random.uniform(-jitter, jitter)) / 1000

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        self.counts["connections"] += 1
        if random.uniform(0, 100) < self.rules.get("abort_percent", 0):
            self.counts["aborted"] += 1
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        try:
            host, port = original_destination(sock)
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.transport.abort()
            return
        down = asyncio.ensure_future(self.answers(up_reader, writer))
        try:
            if self.http:
                await self.requests(reader, writer, up_writer)
            else:
                await pipe(reader, up_writer)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            up_writer.close()
            await asyncio.gather(down, return_exceptions=True)
            writer.close()

    async def answers(self, up_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Service → client, each chunk held back by the delay rule (release times never go backwards)."""
        due = 0.0
        try:
            while chunk := await up_reader.read(READ):
                if self.rules.get("delay_ms") or self.rules.get("jitter_ms"):
                    due = max(due, time.monotonic() + self.hold_s())
                    await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(chunk)
                await writer.drain()
        except OSError:
            pass
        finally:
            if writer.can_write_eof():
                with contextlib.suppress(OSError):
                    writer.write_eof()

    def matches(self, method: str, path: str) -> bool:
        wanted = self.http.get("method")
        return (not wanted or wanted == method) and path.startswith(self.http.get("path_prefix") or "/")

    async def requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       up_writer: asyncio.StreamWriter) -> None:
        """Client → service, request by request: each head judged, its body followed."""
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                return await pipe(reader, up_writer)  # not a head we can judge: pass it on untouched
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    up_writer.write(exc.partial)
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path = ([*lines[0].split(" "), "", ""])[:2]
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
            self.counts["requests"] += 1
            hit = self.matches(method, path) and random.uniform(0, 100) < self.http.get("percent", 100)
            body = await read_body(reader, headers)
            if hit and self.http.get("status"):
                self.counts["faulted"] += 1
                status = int(self.http["status"])
                text = f"entchaos http-fault {status}\n".encode()
                # The client asked to close (or speaks HTTP/1.0): answer so, and close, as a server would.
                closing = headers.get("connection", "").lower() == "close" or lines[0].endswith("HTTP/1.0")
                writer.write(f"HTTP/1.1 {status} Injected\r\nContent-Type: text/plain\r\nContent-Length: "
                             f"{len(text)}\r\nX-Entchaos-Fault: http-fault\r\n"
                             f"{'Connection: close' + chr(13) + chr(10) if closing else ''}\r\n".encode() + text)
                await writer.drain()
                if closing:
                    return
                continue
            if hit and self.http.get("delay_ms"):
                self.counts["delayed"] += 1
                await asyncio.sleep(self.http["delay_ms"] / 1000)
            up_writer.write(head + body)
            await up_writer.drain()


async def read_body(reader: asyncio.StreamReader, headers: dict) -> bytes:
    """The request's body as its headers frame it (Content-Length, or chunked up to the last chunk)."""
    if headers.get("transfer-encoding", "").lower().endswith("chunked"):
        parts = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    parts.append(line)
                parts.append(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
    length = int(headers.get("content-length") or 0)
    return await reader.readexactly(length) if length else b""


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(READ):
        writer.write(chunk)
        await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()


async def main(port: int, rules: dict) -> None:
    proxy = Proxy(rules)
    server = await asyncio.start_server(proxy.handle, "0.0.0.0", port, limit=HEAD_MAX, backlog=1024)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    said = ""
    async with server:
        while True:
            await asyncio.sleep(REPORT_S)
            if json.dumps(proxy.counts) != said:  # what it did, when it changed
                said = json.dumps(proxy.counts)
                sys.stderr.write(said + "\n")
                sys.stderr.flush()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
