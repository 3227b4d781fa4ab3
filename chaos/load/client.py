"""The hot path: HTTP/1.1 keep-alive over a raw asyncio Protocol, a pool of connections, no per-request task.

Why not aiohttp: its per-request machinery costs ~10x more CPU than the wire work, and on one core the load
generator would become the bottleneck it is meant to measure. Here one request is one small object, one
`transport.write`, and one header scan with `bytes.find`.

Latency is always `done_at - intended`: a request that waited for a free connection (or was sent late because
the loop was busy) is charged that wait, so a slow server cannot hide behind its own slowness.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, cast

from chaos.load.classify import REFUSED, RETRY_AFTER, TIMEOUT, WANTED_HEADERS, classify
from chaos.log import get_logger

log = get_logger(__name__)

monotonic = time.monotonic

# Done callback: (pending, class, status, headers, body, done_at). status 0 when no response was read.
DoneCallback = Callable[["Pending", int, int, dict[str, str], bytes, float], None]

_NO_HEADERS: dict[str, str] = {}
# Wanted headers: the `x-ent-*` ones by their (lower-case) name, and Retry-After by its pattern.
_WANTED_X = {name.encode(): name for name in WANTED_HEADERS if name.startswith("x-ent-")}
assert set(_WANTED_X.values()) | {RETRY_AFTER} == set(WANTED_HEADERS)
_RETRY_AFTER = b"\r\n" + RETRY_AFTER.encode() + b":"
_CL = b"\r\ncontent-length:"
_TE = b"\r\ntransfer-encoding:"
_CONN = b"\r\nconnection:"
assert len(_CL) == 17 and len(_CONN) == 13  # offsets used literally in `_parse_head`

# Answers remembered by their bytes: only small ones, and only so many (cleared when full).
_PARSED_MAX_BYTES = 2048
_PARSED_MAX_ENTRIES = 256

# Parser states
_HEAD, _BODY_LEN, _CHUNKED, _UNTIL_CLOSE = range(4)


def _all_headers(head: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            out.setdefault(name.strip().lower().decode("latin-1"), value.strip().decode("latin-1"))
    return out


def build_request(
    method: str,
    path: str,
    host: str,
    *,
    body: bytes | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """Serialise one request once; the flood journey reuses the same bytes for every send."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: entchaos-load"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    if body is not None or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body or b'')}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body if body else head


class Pending:
    """One request in flight or waiting for a connection."""

    __slots__ = ("attempts", "ctx", "data", "deadline", "head_only", "intended", "on_done", "want_body")

    def __init__(
        self,
        data: bytes,
        intended: float,
        deadline: float,
        on_done: DoneCallback,
        ctx: Any = None,
        want_body: bool = False,
        head_only: bool = False,
    ) -> None:
        self.data = data
        self.intended = intended
        self.deadline = deadline
        self.on_done = on_done
        self.ctx = ctx
        self.want_body = want_body
        self.head_only = head_only
        self.attempts = 0


class Response(NamedTuple):
    """One answer: its class, status, headers, body, and when it was intended and done."""

    cls: int
    status: int
    headers: dict[str, str]
    body: bytes
    intended: float
    done_at: float

    @property
    def latency_s(self) -> float:
        return self.done_at - self.intended


def stream_transport(transport: asyncio.BaseTransport) -> asyncio.Transport:
    """A TCP connection's transport as what it is: `connection_made` is typed for any transport, and uvloop's
    TCPTransport has every `asyncio.Transport` method without subclassing it (so a cast, not an isinstance)."""
    return cast(asyncio.Transport, transport)


class _Conn(asyncio.Protocol):
    __slots__ = (
        "body",
        "buf",
        "close_after",
        "cur",
        "got_bytes",
        "headers",
        "need",
        "parsed",
        "pool",
        "served",
        "state",
        "status",
        "transport",
    )
    transport: asyncio.Transport  # set by `connection_made`, before the pool ever holds the connection

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self.parsed = pool.parsed
        self.cur: Pending | None = None
        self.buf = b""
        self.state = _HEAD
        self.served = 0
        self.got_bytes = False
        self.status = 0
        self.headers: dict[str, str] = _NO_HEADERS
        self.need = 0
        self.body = bytearray()
        self.close_after = False

    # asyncio.Protocol -------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = stream_transport(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        cur = self.cur
        self.cur = None
        self.pool._lost(self)
        if cur is None:
            return
        if self.state == _UNTIL_CLOSE:  # body delimited by the close: that is a complete answer
            self._finish(cur, monotonic())
            return
        # A reused keep-alive connection the server had just closed: resend once on a fresh one.
        if not self.got_bytes and self.served > 0 and cur.attempts == 0:
            cur.attempts += 1
            self.pool._resubmit(cur)
            return
        cur.on_done(cur, REFUSED, 0, _NO_HEADERS, b"", monotonic())

    def data_received(self, data: bytes) -> None:
        cur = self.cur
        if cur is None:  # unsolicited bytes (no pipelining): this connection is unusable
            self.transport.abort()
            return
        self.got_bytes = True
        if self.buf:
            data = self.buf + data
            self.buf = b""
        state = self.state
        if state == _HEAD:
            # A server answers the same bytes again and again (nginx: until its Date header ticks): a whole
            # small answer seen before is not parsed again. Same bytes, same parse: nothing else changes.
            # (A journey's request wants every header, the flood's only the markers: only the flood's are kept.)
            cacheable = len(data) <= _PARSED_MAX_BYTES and not cur.head_only and not cur.want_body
            if cacheable:
                hit = self.parsed.get(data)
                if hit is not None:
                    self.status, self.headers, self.close_after, cls, b0, b1 = hit
                    if b1 > b0 and cur.want_body:
                        self.body += data[b0:b1]
                    self._finish(cur, monotonic(), cls)
                    return
            end = data.find(b"\r\n\r\n")
            if end < 0:
                self.buf = data
                return
            state = self._parse_head(data[:end], cur)
            if state == -1:  # no body
                if cacheable:
                    self._remember(data, end + 4, end + 4)
                self._finish(cur, monotonic())
                return
            if state == _BODY_LEN:  # the common case: the whole body came with the head, no copy
                need = self.need
                have = len(data) - end - 4
                if have >= need:
                    if cacheable:
                        self._remember(data, end + 4, end + 4 + need)
                    if cur.want_body:
                        self.body += data[end + 4 : end + 4 + need]
                    self._finish(cur, monotonic())
                    return
                self.need = need - have
                if cur.want_body:
                    self.body += data[end + 4 :]
                return
            data = data[end + 4 :]
        if state == _BODY_LEN:
            need = self.need
            if len(data) >= need:
                if cur.want_body:
                    self.body += data[:need]
                self._finish(cur, monotonic())
            else:
                self.need = need - len(data)
                if cur.want_body:
                    self.body += data
        elif state == _CHUNKED:
            self._chunks(data, cur)
        elif cur.want_body:  # _UNTIL_CLOSE
            self.body += data

    # parsing -----------------------------------------------------------------------------------
    def _parse_head(self, head: bytes, cur: Pending) -> int:
        """Status, the wanted headers, framing; sets and returns the body state (-1: no body)."""
        try:
            status = int(head[9:12])
        except ValueError:
            status = 0
        self.status = status
        lower = head.lower()
        if cur.want_body:  # a journey's request: every header (a journey may extract any), names in lower case
            self.headers = _all_headers(head)
        # Otherwise only the marker headers: walk the `x-ent-*` lines, then look for Retry-After.
        pos = -1 if cur.want_body else lower.find(b"\r\nx-ent-")
        if pos >= 0:
            headers: dict[str, str] = {}
            n = len(lower)
            while pos >= 0:
                stop = lower.find(b"\r\n", pos + 2)
                if stop < 0:
                    stop = n
                colon = lower.find(b":", pos, stop)
                if colon > 0:
                    name = _WANTED_X.get(lower[pos + 2 : colon])
                    if name is not None and name not in headers:
                        headers[name] = head[colon + 1 : stop].strip().decode("latin-1")
                pos = lower.find(b"\r\nx-ent-", stop)
            self.headers = headers
        pos = -1 if cur.want_body else lower.find(_RETRY_AFTER)
        if pos >= 0:
            stop = lower.find(b"\r\n", pos + 2)
            if self.headers is _NO_HEADERS:
                self.headers = {}
            self.headers[RETRY_AFTER] = (
                head[pos + len(_RETRY_AFTER) : stop if stop >= 0 else len(head)].strip().decode("latin-1")
            )
        pos = lower.find(_CONN)
        self.close_after = pos >= 0 and lower.startswith(b" close", pos + 13)
        if cur.head_only or status < 200 or status == 204 or status == 304:
            self.state = -1
            return -1
        pos = lower.find(_CL)
        if pos >= 0:
            stop = lower.find(b"\r\n", pos + 17)
            need = self.need = int(lower[pos + 17 : stop if stop >= 0 else len(lower)])
            state = self.state = _BODY_LEN if need > 0 else -1
            return state
        pos = lower.find(_TE)
        stop = lower.find(b"\r\n", pos + 2) if pos >= 0 else -1
        if pos >= 0 and b"chunked" in lower[pos : stop if stop >= 0 else len(lower)]:
            self.state = _CHUNKED
            return _CHUNKED
        self.state = _UNTIL_CLOSE
        self.close_after = True
        return _UNTIL_CLOSE

    def _chunks(self, data: bytes, cur: Pending) -> None:
        # `need` > 0: bytes of chunk data (+2 for its CRLF) still expected before the next size line.
        while True:
            if self.need > 0:
                take = min(self.need, len(data))
                if cur.want_body:
                    keep = min(take, max(self.need - 2, 0))
                    self.body += data[:keep]
                self.need -= take
                data = data[take:]
                if self.need > 0:
                    return
            line_end = data.find(b"\r\n")
            if line_end < 0:
                self.buf = data
                return
            size = int(data[:line_end].split(b";", 1)[0] or b"0", 16)
            data = data[line_end + 2 :]
            if size == 0:
                # Trailers end with an empty line; with none, the next two bytes are CRLF.
                if data.find(b"\r\n") < 0 and len(data) < 2:
                    self.buf = b"0\r\n" + data
                    return
                self._finish(cur, monotonic())
                return
            self.need = size + 2

    def _remember(self, data: bytes, body_start: int, body_end: int) -> None:
        parsed = self.parsed
        if len(parsed) >= _PARSED_MAX_ENTRIES:  # bounded: answers that vary (tokens, JSON) just miss
            parsed.clear()
        status, headers = self.status, self.headers
        parsed[data] = (status, headers, self.close_after, self.pool.classify(status, headers), body_start, body_end)

    def _finish(self, cur: Pending, done_at: float, cls: int = -1) -> None:
        status, headers = self.status, self.headers
        if cls < 0:
            cls = self.pool.classify(status, headers)
        if self.body:
            body = bytes(self.body)
            self.body = bytearray()
        else:
            body = b""
        self.cur = None
        self.state = _HEAD
        self.headers = _NO_HEADERS
        self.served += 1
        cur.on_done(cur, cls, status, headers, body, done_at)
        if self.close_after:
            self.transport.close()
            return
        # Next queued request on this connection (inlined `pool._release`: this is once per answer).
        q = self.pool.queue
        while q:
            p = q.popleft()
            if p.deadline <= done_at:
                p.on_done(p, TIMEOUT, 0, _NO_HEADERS, b"", done_at)
                continue
            self.cur = p
            self.got_bytes = False
            self.transport.write(p.data)
            return
        self.pool.idle.append(self)

    def send(self, p: Pending) -> None:
        self.cur = p
        self.got_bytes = False
        self.transport.write(p.data)


class ConnectionPool:
    """Up to `max_connections` keep-alive connections to one host; FIFO queue when all are busy."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        max_connections: int = 256,
        connect_timeout_s: float = 3.0,
        sweep_interval_s: float = 0.05,
        classify: Callable[[int, dict[str, str]], int] = classify,
    ) -> None:
        self.classify = classify  # chaos.load.classify.CLASSIFIERS: by the ENT's markers or by status
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.connect_timeout_s = connect_timeout_s
        self.sweep_interval_s = sweep_interval_s
        self.conns: set[_Conn] = set()
        self.idle: list[_Conn] = []
        self.queue: deque[Pending] = deque()
        # whole answer bytes -> (status, headers, close_after, class, body start, body end); see data_received
        self.parsed: dict[bytes, tuple[int, dict[str, str], bool, int, int, int]] = {}
        self.opening = 0
        self.opened_total = 0
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._sweeper = self._loop.call_later(sweep_interval_s, self._sweep)

    # public ------------------------------------------------------------------------------------
    def submit(self, p: Pending) -> None:
        """Send `p` on an idle connection, or queue it (opening a connection when under the limit)."""
        idle = self.idle
        if idle:
            conn = idle.pop()  # `conn.send(p)`, inlined: once per request
            conn.cur = p
            conn.got_bytes = False
            conn.transport.write(p.data)
            return
        self.queue.append(p)
        if len(self.conns) + self.opening < self.max_connections:
            self._open()

    def request(
        self, data: bytes, intended: float, timeout_s: float, *, want_body: bool = True
    ) -> asyncio.Future[Response]:
        """Awaitable form for journeys (one future per request: fine off the flood path)."""
        fut: asyncio.Future[Response] = self._loop.create_future()
        self.submit(Pending(data, intended, intended + timeout_s, _resolve, fut, want_body))
        return fut

    @property
    def in_flight(self) -> int:
        return len(self.conns) - len(self.idle) + len(self.queue)

    def close(self) -> None:
        """Abort everything: requests still pending are finished as timeouts (the run's bound cut them)."""
        self.closed = True
        self._sweeper.cancel()
        now = monotonic()
        while self.queue:
            p = self.queue.popleft()
            p.on_done(p, TIMEOUT, 0, _NO_HEADERS, b"", now)
        for conn in list(self.conns):
            cur, conn.cur = conn.cur, None
            if cur is not None:
                cur.on_done(cur, TIMEOUT, 0, _NO_HEADERS, b"", now)
            conn.transport.abort()
        self.idle.clear()

    # connection management ----------------------------------------------------------------------
    def _open(self) -> None:
        self.opening += 1
        self._loop.create_task(self._connect())

    async def _connect(self) -> None:
        try:
            _, conn = await asyncio.wait_for(
                self._loop.create_connection(lambda: _Conn(self), self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            self.opening -= 1
            self._connect_failed(exc)
            return
        self.opening -= 1
        if self.closed:
            conn.transport.abort()
            return
        self.opened_total += 1
        self.conns.add(conn)
        self._release(conn)

    def _connect_failed(self, exc: BaseException) -> None:
        # This attempt was opened for the oldest waiting request: that user got "connection refused".
        now = monotonic()
        if self.queue:
            p = self.queue.popleft()
            p.on_done(p, TIMEOUT if isinstance(exc, TimeoutError) else REFUSED, 0, _NO_HEADERS, b"", now)
        if self.queue and not self.closed and len(self.conns) + self.opening < self.max_connections:
            self._open()

    def _release(self, conn: _Conn) -> None:
        q = self.queue
        if q:
            now = monotonic()
            while q:
                p = q.popleft()
                if p.deadline <= now:
                    p.on_done(p, TIMEOUT, 0, _NO_HEADERS, b"", now)
                    continue
                conn.send(p)
                return
        self.idle.append(conn)

    def _resubmit(self, p: Pending) -> None:
        if self.closed:
            p.on_done(p, REFUSED, 0, _NO_HEADERS, b"", monotonic())
            return
        if self.idle:
            self.idle.pop().send(p)
            return
        self.queue.appendleft(p)
        if len(self.conns) + self.opening < self.max_connections:
            self._open()

    def _lost(self, conn: _Conn) -> None:
        self.conns.discard(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        # Queued requests need a connection; the one that closed may have been the only one.
        if self.queue and not self.closed and len(self.conns) + self.opening < self.max_connections:
            self._open()

    def _sweep(self) -> None:
        # One timer for all deadlines: a per-request timer would cost as much as the request itself.
        now = monotonic()
        for conn in list(self.conns):
            cur = conn.cur
            if cur is not None and cur.deadline <= now:
                conn.cur = None
                cur.on_done(cur, TIMEOUT, 0, _NO_HEADERS, b"", now)
                conn.transport.abort()  # a late answer would arrive on a reused connection otherwise
        q = self.queue
        while q and q[0].deadline <= now:
            p = q.popleft()
            p.on_done(p, TIMEOUT, 0, _NO_HEADERS, b"", now)
        if not self.closed:
            self._sweeper = self._loop.call_later(self.sweep_interval_s, self._sweep)


def _resolve(p: Pending, cls: int, status: int, headers: dict[str, str], body: bytes, done_at: float) -> None:
    fut: asyncio.Future[Response] = p.ctx
    if not fut.done():
        fut.set_result(Response(cls, status, headers, body, p.intended, done_at))
