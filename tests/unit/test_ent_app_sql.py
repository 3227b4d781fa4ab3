"""The real schema and seed in a throw-away PostgreSQL cluster, and the app's PostgresStore against it.

Needs the PostgreSQL server binaries (initdb, pg_ctl) and psql on this machine, no Docker; skipped without them.
About 3 s: one cluster for the whole module, fsync off.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures" / "ent_app"))

from ent_app.auth import password_ok
from ent_app.config import Settings
from ent_app.db import UserRecord
from ent_app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
INITDB_SQL = sorted((ROOT / "fixtures" / "postgres" / "initdb").glob("*.sql"))


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def pg() -> Iterator[int]:
    initdb, pg_ctl, psql = _pg_bin("initdb"), _pg_bin("pg_ctl"), shutil.which("psql")
    if not (initdb and pg_ctl and psql):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) or psql not installed")
    user = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("id") is None or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a `postgres` user to own the test cluster")
        user = "postgres"
    # Not under pytest's tmp dir: its parents are private to root, and the server runs as `postgres`.
    base = Path(tempfile.mkdtemp(prefix="entchaos-pg-"))
    if user:
        shutil.chown(base, user)
    data, port = base / "data", _free_port()

    def run(*cmd: str, stdin: str | None = None) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, user=user, cwd=base, timeout=60, input=stdin)
        assert done.returncode == 0, f"{cmd[0]} failed: {done.stderr.strip()}"

    run(initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8")
    opts = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(pg_ctl, "-D", str(data), "-o", opts, "-l", str(base / "log"), "-w", "start")
    try:
        conn = ["-h", "127.0.0.1", "-p", str(port), "-qX", "-v", "ON_ERROR_STOP=1"]
        run(psql, *conn, "-U", "postgres", "-c", "CREATE ROLE ent LOGIN SUPERUSER PASSWORD 'ent'")
        run(psql, *conn, "-U", "postgres", "-c", "CREATE DATABASE ent OWNER ent")
        # As the entrypoint does: file-name order, as `ent`, into `ent`. On stdin, not `-f`: psql runs as
        # `postgres`, which cannot read a checkout inside a private home (mode 700).
        for f in INITDB_SQL:
            run(psql, *conn, "-U", "ent", "-d", "ent", stdin=f.read_text())
        yield port
    finally:
        run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


def query(port: int, sql: str) -> list[tuple[str, ...]]:
    import psycopg

    with psycopg.connect(f"host=127.0.0.1 port={port} dbname=ent user=ent password=ent") as conn:
        return [tuple(str(v) for v in row) for row in conn.execute(sql).fetchall()]


def test_initdb_files_are_the_ones_the_entrypoint_loads() -> None:
    assert [f.name for f in INITDB_SQL] == ["01-schema.sql", "02-seed.sql"]


def test_seed_counts_and_documented_ids(pg: int) -> None:
    assert query(pg, "SELECT count(*) FROM schools") == [("6",)]
    assert query(pg, "SELECT count(*) FROM classes") == [("72",)]
    assert query(pg, "SELECT role, count(*) FROM users GROUP BY role ORDER BY role") == [
        ("pupil", "2000"),
        ("teacher", "100"),
    ]
    assert query(pg, "SELECT login FROM users WHERE id IN (1, 2000, 2001, 2100) ORDER BY id") == [
        ("pupil0001",),
        ("pupil2000",),
        ("teacher001",),
        ("teacher100",),
    ]
    # Every class c has homework 3c-2, 3c-1, 3c, as 02-seed.sql says.
    assert query(pg, "SELECT count(*) FROM homework WHERE id BETWEEN 3 * class_id - 2 AND 3 * class_id") == [("216",)]
    assert query(pg, "SELECT count(*), min(size_bytes), max(size_bytes) FROM resources") == [("50", "16384", "16384")]
    regions = {r for (r,) in query(pg, "SELECT region FROM schools")}
    assert "Île-de-France" in regions and "Grand Est" in regions


def test_seeded_password_hash_matches_the_app(pg: int) -> None:
    (row,) = query(pg, "SELECT id, login, role, class_id, password_salt, password_hash FROM users WHERE id = 42")
    user = UserRecord(int(row[0]), row[1], row[2], int(row[3]), row[4], row[5])
    assert password_ok(user, "ent") and not password_ok(user, "ent2")


@pytest.fixture(scope="module")
def app(pg: int) -> Iterator[TestClient]:
    # A dead first host, as after losing db-sbg: libpq must move on to the live read-write one.
    dead = _free_port()
    dsn = (
        f"host=127.0.0.1,127.0.0.1 port={dead},{pg} dbname=ent user=ent password=ent "
        "target_session_attrs=read-write connect_timeout=2"
    )
    settings = Settings(replica="app-rbx-1", datacenter="rbx", database_url=dsn, secret="s")
    with TestClient(create_app(settings)) as c:
        yield c


def _login(c: TestClient, name: str) -> dict[str, str]:
    r = c.post("/api/login", json={"login": name, "password": "ent"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_app_on_postgres_end_to_end(app: TestClient) -> None:
    assert app.get("/readyz").status_code == 200
    assert app.post("/api/login", json={"login": "pupil0005", "password": "x"}).status_code == 401
    pupil = _login(app, "pupil0005")  # class 5
    lessons = app.get("/api/timetable", headers=pupil).json()
    assert len(lessons) == 30 and lessons[0]["day"] == "lundi" and lessons[0]["start"] == "08:00"
    homework = app.get("/api/homework", headers=pupil).json()
    assert {h["id"] for h in homework} >= {13, 14, 15}
    key = str(uuid.uuid4())
    first = app.post("/api/homework/13/submissions", json={"key": key, "content": "x"}, headers=pupil)
    assert first.status_code == 201 and first.json()["replica"] == "app-rbx-1"
    again = app.post("/api/homework/13/submissions", json={"key": key, "content": "x"}, headers=pupil)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    missing = app.post("/api/homework/99999/submissions", json={"key": str(uuid.uuid4())}, headers=pupil)
    assert missing.status_code == 404
    assert len(app.get("/api/resources/3", headers=pupil).content) == 16384
    assert len(app.get("/api/messages", headers=pupil).json()) == 3
    assert app.post("/api/classes/5/join", headers=pupil).status_code == 200


def test_teacher_on_postgres(app: TestClient) -> None:
    teacher = _login(app, "teacher007")
    r = app.post("/api/homework", json={"class_id": 7, "title": "Rédaction", "due": "2021-04-13"}, headers=teacher)
    assert r.status_code == 201 and r.json()["id"] > 216
    assert r.json()["id"] in {h["id"] for h in app.get("/api/homework", headers=teacher).json()}
    bad = app.post("/api/homework", json={"class_id": 999, "title": "x", "due": "2021-04-13"}, headers=teacher)
    assert bad.status_code == 404
