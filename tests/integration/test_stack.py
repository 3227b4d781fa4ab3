"""The bundled stack, for real: edge, replicas, replication, fallback, detection time."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.probes.edge import EdgeAPI
from chaos.stack.docker_api import docker_client
from chaos.stack.health import wait_ready
from tests.integration.http_util import login, request

pytestmark = pytest.mark.docker

# haproxy.cfg: inter 1s, fall 2, timeout check 1s -> configured minimum 2 s.
EDGE_INTER_S, EDGE_FALL, EDGE_CHECK_TIMEOUT_S = 1.0, 2, 1.0


def test_portal_answers_through_the_edge_from_an_app_replica(ent_stack):
    reply = request("GET", ent_stack.edge_url() + "/")
    assert reply.status == 200
    assert reply.headers["x-ent-replica"].startswith("app-")
    assert reply.headers["x-ent-datacenter"] in ("sbg", "rbx")
    assert b"ENT" in reply.body


def test_every_replica_serves_through_the_edge(ent_stack):
    seen = {request("GET", ent_stack.edge_url() + "/healthz").headers.get("x-ent-replica") for _ in range(16)}
    assert seen == {"app-sbg-1", "app-sbg-2", "app-rbx-1", "app-rbx-2"}


def test_acknowledged_homework_is_readable_on_the_standby(ent_stack):
    base = ent_stack.edge_url()
    token = login(base)
    homework = request("GET", f"{base}/api/homework", token=token).json()
    assert homework, "the seed gives every class homework"
    key = str(uuid.uuid4())
    ack = request(
        "POST", f"{base}/api/homework/{homework[0]['id']}/submissions", {"key": key, "content": "ma copie"}, token
    )
    assert ack.status == 201, ack
    assert ack.json()["key"] == key

    host, port = ent_stack.published("db-rbx", 5432)
    with psycopg.connect(host=host, port=port, dbname="ent", user="ent", password="ent") as conn:
        assert conn.execute("select pg_is_in_recovery()").fetchone()[0] is True, "db-rbx is the standby"

        # Synchronous replication: flushed on the standby before the ack, visible once replayed.
        @retry(stop=stop_after_delay(5), wait=wait_fixed(0.2), reraise=True)
        def replayed() -> None:
            row = conn.execute("select replica from submissions where key = %s", (key,)).fetchone()
            assert row is not None and row[0] == ack.json()["replica"]

        replayed()


def _app_containers(stack):
    return [t for t in stack.targets() if t.role == "app"]


def test_without_any_replica_the_edge_serves_the_fallback(ent_stack):
    client = docker_client()
    base = ent_stack.edge_url()
    apps = _app_containers(ent_stack)
    try:
        for t in apps:
            client.containers.get(t.id).stop(timeout=2)

        @retry(stop=stop_after_delay(15), wait=wait_fixed(0.5), reraise=True)
        def fallback_serves() -> None:
            reply = request("GET", f"{base}/api/timetable")
            assert reply.status == 200 and reply.headers.get("x-ent-fallback") == "broadcast"

        fallback_serves()
        page = request("GET", base + "/")
        assert b"lycee" in page.body.lower() or b"Lyc" in page.body
        write = request("POST", f"{base}/api/homework/1/submissions", {"key": str(uuid.uuid4()), "content": "x"})
        assert write.status == 503
        assert write.headers.get("retry-after")
        assert b"nothing was saved" in write.body
    finally:
        for t in apps:
            client.containers.get(t.id).start()
        wait_ready(ent_stack, deadline_s=90)


def test_a_stopped_replica_is_seen_down_within_the_check_time(ent_stack):
    client = docker_client()
    edge = EdgeAPI(*ent_stack.edge_api())
    victim = next(t for t in _app_containers(ent_stack) if t.service == "app-rbx-2")
    configured_min = EDGE_INTER_S * EDGE_FALL
    try:
        started = time.monotonic()
        client.containers.get(victim.id).kill()

        @retry(stop=stop_after_delay(15), wait=wait_fixed(0.1), reraise=True)
        def seen_down() -> None:
            state = next(s for s in edge.servers() if s.server == victim.service)
            assert state.is_down, state

        seen_down()
        detected_s = time.monotonic() - started
        # One check interval of phase, plus each check's own timeout, on top of inter x fall.
        assert detected_s <= configured_min + EDGE_INTER_S + EDGE_CHECK_TIMEOUT_S * EDGE_FALL + 0.5, detected_s
    finally:
        client.containers.get(victim.id).start()
        wait_ready(ent_stack, deadline_s=90)
