"""ent-app behaviour against the in-memory store: no Docker, no database, a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "ent_app"))

from ent_app.config import Settings
from ent_app.db import DatabaseUnavailable
from ent_app.main import create_app
from ent_app.memory import MemoryStore
from ent_app.pg import PostgresStore

SETTINGS = Settings(replica="app-sbg-1", datacenter="sbg", secret="test-secret")


def client(store: MemoryStore | None = None, **overrides: Any) -> TestClient:
    settings = Settings(**{**SETTINGS.__dict__, **overrides})
    return TestClient(create_app(settings, store if store is not None else MemoryStore()))


@pytest.fixture
def app_client() -> Iterator[TestClient]:
    with client() as c:
        yield c


def login(c: TestClient, name: str = "pupil0001") -> dict[str, str]:
    r = c.post("/api/login", json={"login": name, "password": "ent"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def submit(c: TestClient, headers: dict[str, str], key: str, homework_id: int = 1) -> httpx.Response:
    return c.post(f"/api/homework/{homework_id}/submissions", json={"key": key, "content": "rendu"}, headers=headers)


def test_healthz_and_replica_headers(app_client: TestClient) -> None:
    r = app_client.get("/healthz")
    assert (r.status_code, r.text) == (200, "ok")
    assert r.headers["x-ent-replica"] == "app-sbg-1"
    assert r.headers["x-ent-datacenter"] == "sbg"
    assert app_client.get("/api/timetable").headers["x-ent-replica"] == "app-sbg-1"  # errors carry them too


def test_portal_page(app_client: TestClient) -> None:
    r = app_client.get("/")
    assert r.status_code == 200
    assert "<title>ENT – Espace numérique de travail</title>" in r.text  # noqa: RUF001


def test_login_returns_token_user_and_cookie(app_client: TestClient) -> None:
    r = app_client.post("/api/login", json={"login": "pupil0001", "password": "ent"})
    assert r.status_code == 200
    body = r.json()
    assert body["user"] == {"id": 1, "login": "pupil0001", "role": "pupil", "class_id": 1}
    assert r.cookies["ent_session"] == body["token"]


@pytest.mark.parametrize(
    "payload",
    [{"login": "pupil0001", "password": "nope"}, {"login": "nobody", "password": "ent"}],
)
def test_bad_credentials_are_401(app_client: TestClient, payload: dict[str, str]) -> None:
    assert app_client.post("/api/login", json=payload).status_code == 401


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer forged.token.value"}])
def test_missing_or_invalid_session_is_401(app_client: TestClient, headers: dict[str, str]) -> None:
    assert app_client.get("/api/timetable", headers=headers).status_code == 401


def test_session_is_stateless_across_replicas() -> None:
    with client() as a, client(MemoryStore(), replica="app-rbx-2", datacenter="rbx") as b:
        headers = login(a)
        r = b.get("/api/homework", headers=headers)
        assert r.status_code == 200 and r.headers["x-ent-replica"] == "app-rbx-2"
        assert {h["class_id"] for h in r.json()} == {1}
    with client(secret="another-secret") as other:
        assert other.get("/api/homework", headers=headers).status_code == 401


def test_cookie_authenticates(app_client: TestClient) -> None:
    app_client.post("/api/login", json={"login": "pupil0002", "password": "ent"})  # the client keeps the cookie
    assert app_client.get("/api/timetable").status_code == 200


def test_submission_is_idempotent_on_key(app_client: TestClient) -> None:
    headers, key = login(app_client), str(uuid.uuid4())
    first = submit(app_client, headers, key)
    assert first.status_code == 201
    body = first.json()
    assert body["key"] == key and body["replica"] == "app-sbg-1" and body["datacenter"] == "sbg"
    assert body["committed_at"] and isinstance(body["id"], int)
    again = submit(app_client, headers, key)
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_submission_rules(app_client: TestClient) -> None:
    pupil, teacher = login(app_client), login(app_client, "teacher001")
    assert submit(app_client, teacher, str(uuid.uuid4())).status_code == 403
    assert submit(app_client, pupil, "not-a-uuid").status_code == 400
    assert submit(app_client, pupil, str(uuid.uuid4()), homework_id=999).status_code == 404
    key = str(uuid.uuid4())
    assert submit(app_client, pupil, key).status_code == 201
    assert submit(app_client, login(app_client, "pupil0003"), key).status_code == 409  # someone else's key


class FailingCommit(MemoryStore):
    """The statement runs, then COMMIT fails (primary lost mid-transaction)."""

    def __init__(self) -> None:
        super().__init__()
        self.fail = True

    async def commit(self) -> None:
        if self.fail:
            raise DatabaseUnavailable("server closed the connection during COMMIT")


def test_no_201_when_commit_fails_and_retry_succeeds_after() -> None:
    store = FailingCommit()
    with client(store) as c:
        headers, key = login(c), str(uuid.uuid4())
        r = submit(c, headers, key)
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"] == "database unavailable"
        assert store.submissions == {}
        store.fail = False
        assert submit(c, headers, key).status_code == 201


def test_db_down_gives_503_with_retry_after() -> None:
    store = MemoryStore()
    with client(store) as c:
        headers = login(c)
        store.available = False
        for path in ("/api/timetable", "/api/homework", "/api/messages", "/api/resources/1"):
            r = c.get(path, headers=headers)
            assert (r.status_code, r.headers.get("retry-after")) == (503, "1"), path
        assert c.post("/api/login", json={"login": "pupil0001", "password": "ent"}).status_code == 503


def test_readyz_follows_the_database() -> None:
    up, down = MemoryStore(), MemoryStore()
    down.available = False
    with client(up) as c:
        assert c.get("/readyz").status_code == 200
    with client(down) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert c.get("/healthz").status_code == 200  # liveness never asks the DB


class SlowTimetable(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def timetable(self, class_id: int) -> list[dict[str, Any]]:
        self.entered.set()
        await self.release.wait()
        return await super().timetable(class_id)


def test_concurrency_limit_sheds_with_503() -> None:
    asyncio.run(_concurrency_limit_sheds_with_503())


async def _concurrency_limit_sheds_with_503() -> None:
    store = SlowTimetable()
    app = create_app(Settings(**{**SETTINGS.__dict__, "max_concurrency": 1}), store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ent") as c:
        r = await c.post("/api/login", json={"login": "pupil0001", "password": "ent"})
        headers = {"Authorization": f"Bearer {r.json()['token']}"}
        first = asyncio.create_task(c.get("/api/timetable", headers=headers))
        await asyncio.wait_for(store.entered.wait(), 2)
        shed = await c.get("/api/homework", headers=headers)
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1" and shed.headers["x-ent-replica"] == "app-sbg-1"
        assert shed.json()["error"] == "overloaded"
        assert (await c.get("/readyz")).status_code == 200  # health checks are never shed
        store.release.set()
        assert (await first).status_code == 200
        assert (await c.get("/api/homework", headers=headers)).status_code == 200


def test_request_cost_burns_cpu() -> None:
    with client(request_cost_ms=30) as c:
        headers = login(c)
        t0 = time.perf_counter()
        c.get("/api/timetable", headers=headers)
        assert time.perf_counter() - t0 >= 0.03


def test_teacher_posts_homework_pupil_cannot(app_client: TestClient) -> None:
    teacher, pupil = login(app_client, "teacher001"), login(app_client)
    hw = {"class_id": 1, "title": "Exercices", "due": "2021-04-13"}
    r = app_client.post("/api/homework", json=hw, headers=teacher)
    assert r.status_code == 201 and r.json()["class_id"] == 1 and r.json()["due"] == "2021-04-13"
    assert r.json()["id"] in {h["id"] for h in app_client.get("/api/homework", headers=teacher).json()}
    assert r.json()["id"] in {h["id"] for h in app_client.get("/api/homework", headers=pupil).json()}
    assert app_client.post("/api/homework", json=hw, headers=pupil).status_code == 403
    assert app_client.post("/api/homework", json={**hw, "class_id": 99}, headers=teacher).status_code == 404
    assert app_client.post("/api/homework", json={**hw, "due": "soon"}, headers=teacher).status_code == 400


def test_resource_is_a_deterministic_16k_pdf(app_client: TestClient) -> None:
    headers = login(app_client)
    r = app_client.get("/api/resources/7", headers=headers)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert len(r.content) == 16384 and r.content.startswith(b"%PDF-")
    assert app_client.get("/api/resources/7", headers=headers).content == r.content
    assert app_client.get("/api/resources/999", headers=headers).status_code == 404


def test_virtual_class_join(app_client: TestClient) -> None:
    headers = login(app_client)  # pupil0001, class 1
    r = app_client.post("/api/classes/1/join", headers=headers)
    assert r.status_code == 200 and r.json()["class_id"] == 1 and r.json()["room"] and r.json()["joined_at"]
    assert app_client.post("/api/classes/2/join", headers=headers).status_code == 403
    assert app_client.post("/api/classes/2/join", headers=login(app_client, "teacher001")).status_code == 200


def test_timetable_and_messages_shapes(app_client: TestClient) -> None:
    headers = login(app_client)
    lesson = app_client.get("/api/timetable", headers=headers).json()[0]
    assert {"day", "start", "end", "subject", "teacher", "room"} <= set(lesson)
    assert isinstance(app_client.get("/api/messages", headers=headers).json(), list)


def test_postgres_store_gives_up_at_its_deadline() -> None:
    """A hung primary (partition) must cost the client the deadline, not psycopg's slower cancel path."""
    asyncio.run(_postgres_store_gives_up_at_its_deadline())


async def _postgres_store_gives_up_at_its_deadline() -> None:
    store = PostgresStore("host=127.0.0.1 port=1 dbname=ent", "app-sbg-1", timeout_s=0.2)

    @contextlib.asynccontextmanager
    async def hung_connection() -> AsyncIterator[Any]:
        await asyncio.sleep(3600)
        yield None

    store.pool.connection = hung_connection  # type: ignore[method-assign]
    t0 = time.perf_counter()
    with pytest.raises(DatabaseUnavailable):
        await store.homework_for_class(1)
    assert time.perf_counter() - t0 < 0.5
    for _ in range(3):  # the done-callback runs a loop turn after the cancellation
        await asyncio.sleep(0)
    assert not store._background


def _timed(c: TestClient, path: str, n: int = 5) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        assert c.get(path).status_code == 200
    return (time.perf_counter() - t0) / n


def test_slowdown_makes_requests_that_many_times_slower_but_not_health_checks() -> None:
    # 60 ms of work per request, so the test client's own overhead (variable on a loaded machine) stays small
    with client(request_cost_ms=60) as normal, client(request_cost_ms=60, slowdown=3) as slow:
        base, slowed = _timed(normal, "/", 3), _timed(slow, "/", 3)
        assert 2.5 < slowed / base < 3.6, (base, slowed)
        assert _timed(slow, "/healthz") < base


@pytest.mark.parametrize(("status", "touched"), [(200, True), (503, False)])
def test_the_heartbeat_file_is_touched_only_while_the_server_answers(tmp_path: Path, monkeypatch, status: int,
                                                                   touched: bool) -> None:
    # The container's health check reads this file's age: it must age when /healthz stops answering 200.
    from ent_app import routes_health

    async def go() -> bool:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(f"HTTP/1.0 {status} X\r\n\r\n".encode())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        monkeypatch.setattr(routes_health, "HEARTBEAT_PORT", server.sockets[0].getsockname()[1])
        beat = asyncio.create_task(routes_health.heartbeat(tmp_path / "alive", every_s=0.05))
        await asyncio.sleep(0.3)
        beat.cancel()
        server.close()
        return (tmp_path / "alive").exists()

    assert asyncio.run(go()) is touched
