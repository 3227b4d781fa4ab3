"""The hot path against in-process servers: response classes, parsing, latency from the intended time."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvloop

from chaos.load.classify import APP, CLASSES, ERROR, FALLBACK, REFUSED, SHED, TIMEOUT, classify
from chaos.load.client import ConnectionPool, build_request
from chaos.load.reference_server import Reply, start

REPLICA = {"X-ENT-Replica": "app-sbg-1", "X-ENT-Datacenter": "sbg"}


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro_fn())


def routes(method: str, path: str, body: bytes) -> Reply:
    table = {
        "/app": Reply(200, REPLICA),
        "/redirect": Reply(302, {**REPLICA, "Location": "/"}, b""),
        "/fallback": Reply(200, {"X-ENT-Fallback": "broadcast"}, b"<html>tv</html>"),
        "/429": Reply(429, {"Retry-After": "1"}, reason="Too Many Requests"),
        "/waiting-room": Reply(503, {"Retry-After": "10", "X-ENT-Shed": "waiting-room"}),
        "/503": Reply(503, REPLICA),
        "/500": Reply(500, REPLICA),
        "/404": Reply(404, REPLICA),
        "/plain": Reply(200, {}),
        "/hang": Reply(action="hang"),
        "/reset": Reply(action="reset"),
        "/chunked": Reply(200, REPLICA, json.dumps({"token": "t" * 300}).encode(), action="chunked"),
        "/big": Reply(200, REPLICA, bytes(range(256)) * 64),
    }
    return table[path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {"x-ent-replica": "a"}, APP),
        (304, {"x-ent-replica": "a"}, APP),
        (200, {"x-ent-fallback": "broadcast"}, FALLBACK),
        (429, {}, SHED),
        (503, {"retry-after": "5"}, SHED),
        (503, {"x-ent-replica": "a"}, ERROR),
        (500, {"x-ent-replica": "a"}, ERROR),
        (200, {}, ERROR),  # somebody else answered: not availability
    ],
)
def test_classify(status: int, headers: dict[str, str], expected: int) -> None:
    assert classify(status, headers) == expected


def test_every_response_class_recognised_on_the_wire() -> None:
    async def go() -> dict[str, str]:
        server, port = await start(routes)
        pool = ConnectionPool("127.0.0.1", port, max_connections=4, sweep_interval_s=0.02)
        seen = {}
        for path in (
            "/app",
            "/redirect",
            "/fallback",
            "/429",
            "/waiting-room",
            "/503",
            "/500",
            "/404",
            "/plain",
            "/hang",
            "/reset",
        ):
            r = await pool.request(build_request("GET", path, "t"), time.monotonic(), 0.3)
            seen[path] = CLASSES[r.cls]
        dead = ConnectionPool("127.0.0.1", free_port(), max_connections=2)
        r = await dead.request(build_request("GET", "/", "t"), time.monotonic(), 1.0)
        seen["no listener"] = CLASSES[r.cls]
        pool.close()
        dead.close()
        server.close()
        return seen

    assert run(go) == {
        "/app": "app",
        "/redirect": "app",
        "/fallback": "fallback",
        "/429": "shed",
        "/waiting-room": "shed",
        "/503": "error",
        "/500": "error",
        "/404": "error",
        "/plain": "error",
        "/hang": "timeout",
        "/reset": "refused",
        "no listener": "refused",
    }
    assert set(CLASSES) == {"app", "fallback", "shed", "error", "timeout", "refused"}


def test_bodies_headers_chunked_and_keepalive() -> None:
    async def go() -> None:
        server, port = await start(routes)
        pool = ConnectionPool("127.0.0.1", port, max_connections=1)
        r = await pool.request(build_request("GET", "/chunked", "t"), time.monotonic(), 2.0)
        assert r.cls == APP and json.loads(r.body)["token"] == "t" * 300
        r = await pool.request(build_request("GET", "/big", "t"), time.monotonic(), 2.0)
        assert r.body == bytes(range(256)) * 64
        r = await pool.request(build_request("GET", "/waiting-room", "t"), time.monotonic(), 2.0)
        assert r.headers["retry-after"] == "10" and r.headers["x-ent-shed"] == "waiting-room"
        r = await pool.request(build_request("GET", "/app", "t"), time.monotonic(), 2.0)
        assert r.headers["x-ent-replica"] == "app-sbg-1" and r.headers["x-ent-datacenter"] == "sbg"
        assert pool.opened_total == 1  # all four on one keep-alive connection
        pool.close()
        server.close()

    run(go)


def test_latency_counts_from_the_intended_time_including_queueing() -> None:
    delay = 0.05

    async def go() -> list[float]:
        server, port = await start(lambda m, p, b: Reply(200, REPLICA, delay_s=delay))
        pool = ConnectionPool("127.0.0.1", port, max_connections=1)
        now = time.monotonic()
        late = await pool.request(build_request("GET", "/", "t"), now - 0.2, 2.0)  # its slot passed 200 ms ago
        assert late.latency_s == pytest.approx(0.25, abs=0.03)
        # five users at the same instant, one connection: the last waits for the four before it
        t0 = time.monotonic()
        rs = await asyncio.gather(*(pool.request(build_request("GET", "/", "t"), t0, 5.0) for _ in range(5)))
        pool.close()
        server.close()
        return sorted(r.latency_s for r in rs)

    lat = run(go)
    for i, v in enumerate(lat, start=1):
        assert v == pytest.approx(i * delay, abs=0.03)


def test_timeouts_cover_queued_requests_too() -> None:
    async def go() -> list[int]:
        server, port = await start(lambda m, p, b: Reply(action="hang"))
        pool = ConnectionPool("127.0.0.1", port, max_connections=2, sweep_interval_s=0.02)
        t0 = time.monotonic()
        rs = await asyncio.gather(*(pool.request(build_request("GET", "/", "t"), t0, 0.2) for _ in range(6)))
        assert all(r.latency_s == pytest.approx(0.2, abs=0.06) for r in rs)
        pool.close()
        server.close()
        return [r.cls for r in rs]

    assert run(go) == [TIMEOUT] * 6


def test_server_closing_idle_keepalive_is_retried_once() -> None:
    async def go() -> int:
        def handler(m: str, p: str, b: bytes) -> Reply:
            return Reply(200, {**REPLICA, "Connection": "close"} if p == "/close" else REPLICA)

        server, port = await start(handler)
        pool = ConnectionPool("127.0.0.1", port, max_connections=1)
        r1 = await pool.request(build_request("GET", "/close", "t"), time.monotonic(), 2.0)
        r2 = await pool.request(build_request("GET", "/app", "t"), time.monotonic(), 2.0)
        pool.close()
        server.close()
        return r1.cls + r2.cls

    assert run(go) == APP + APP
    assert REFUSED != APP


def test_repeated_answers_parsed_once_with_the_same_result() -> None:
    async def go() -> None:
        server, port = await start(routes)
        pool = ConnectionPool("127.0.0.1", port, max_connections=1)
        for path, cls in (("/app", APP), ("/waiting-room", SHED), ("/fallback", FALLBACK), ("/big", APP)):
            # want_body=False: the flood's requests (a journey's want every header, so are parsed each time)
            first = await pool.request(build_request("GET", path, "t"), time.monotonic(), 2.0, want_body=False)
            again = await pool.request(build_request("GET", path, "t"), time.monotonic(), 2.0, want_body=False)
            assert first.cls == again.cls == cls
            assert (first.status, first.headers, first.body) == (again.status, again.headers, again.body)
        assert len(pool.parsed) >= 1  # small answers remembered (their Date may tick between two requests)
        assert all(len(k) <= 2048 for k in pool.parsed)  # the 16 KiB body was not
        pool.close()
        server.close()

    run(go)


def test_a_journey_request_gets_every_header_and_the_flood_only_the_markers() -> None:
    async def go() -> tuple[dict[str, str], dict[str, str], int]:
        server, port = await start(routes)
        pool = ConnectionPool("127.0.0.1", port, max_connections=1)
        journey = await pool.request(build_request("GET", "/app", "t"), time.monotonic(), 2.0)
        flood = await pool.request(build_request("GET", "/app", "t"), time.monotonic(), 2.0, want_body=False)
        cached = len(pool.parsed)
        pool.close()
        server.close()
        return journey.headers, flood.headers, cached

    journey, flood, cached = run(go)
    assert "x-ent-replica" in journey and "content-length" in journey  # every header, names in lower case
    assert set(flood) <= {"x-ent-replica", "x-ent-fallback", "x-ent-shed", "retry-after", "x-ent-datacenter"}
    assert "x-ent-replica" in flood
    assert cached == 1  # only the flood's answer was remembered


def test_what_the_edge_refuses_on_purpose_is_shed_and_a_bare_error_is_not() -> None:
    from chaos.load.classify import CLASSIFIERS, ERROR, SHED

    for by in ("markers", "status"):
        classify_as = CLASSIFIERS[by]
        assert classify_as(403, {"x-ent-shed": "geo-filter"}) == SHED  # the geo filter
        assert classify_as(429, {}) == SHED and classify_as(503, {"retry-after": "2"}) == SHED
        assert classify_as(503, {}) == ERROR  # an edge whose replicas drown: a failure, not a refusal
        assert classify_as(403, {}) == ERROR
