"""Where the ledger's keys are looked for after a fault: the ENT's submissions table, or what a runbook declares.

A declared source is an SQL query on a service's published port (`%s` receives the list of keys, as a parameter,
never formatted into the text) or an HTTP GET per key (`${key}` in the path, quoted). Either answers one
question: which of these keys does the system still hold?
"""

from __future__ import annotations

import http.client
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import ProbeFailed, StackError
from chaos.limits import Name
from chaos.log import get_logger
from chaos.stack.endpoint import Endpoint, host_url
from chaos.stack.interface import Stack

log = get_logger(__name__)

PresentKeys = Callable[[Collection[str]], set[str]]
MAX_HTTP_KEYS = 20_000  # one GET each: beyond this, declare an SQL source


class SqlLedger(BaseModel):
    """`select key from orders where key = any(%s)` on `service`'s published PostgreSQL port."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    service: Name
    port: int = Field(5432, ge=1, le=65535)
    database: str = Field(max_length=63)
    user: str = Field(max_length=63)
    password: str = Field("", max_length=200)
    query: str = Field(max_length=2000)

    @model_validator(mode="after")
    def _one_parameter(self) -> SqlLedger:
        q = self.query.strip().lower()
        if not (q.startswith("select") or q.startswith("with")):
            raise ValueError("a query that reads (`select ... where key = any(%s)`)")
        if ";" in self.query:
            raise ValueError("one query, without `;`")
        if self.query.count("%s") != 1:
            raise ValueError("exactly one `%s` in the query: it receives the list of keys (`key = any(%s)`)")
        return self


class HttpLedger(BaseModel):
    """`GET /orders/${key}`: a status in `present` means the key is held, one in `absent` that it is not."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(pattern=r"^/.*\$\{key\}", max_length=2000)
    target: Endpoint | None = Field(default=None, description="{service, port} or {url}; default: the edge")
    present: list[int] = Field(default_factory=lambda: [200], min_length=1)
    absent: list[int] = Field(default_factory=lambda: [404], min_length=1)


class LedgerSource(BaseModel):
    """Where a runbook's acknowledged writes are looked for: exactly one of `sql` or `http`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sql: SqlLedger | None = None
    http: HttpLedger | None = None

    @model_validator(mode="after")
    def _one(self) -> LedgerSource:
        if (self.sql is None) == (self.http is None):
            raise ValueError("give exactly one of `sql` or `http`")
        return self


def ent_submissions(stack: Stack) -> PresentKeys:
    """The bundled ENT's homework submissions, on whichever database node is the primary now."""

    def present(keys: Collection[str]) -> set[str]:
        from chaos.stack.database import current_primary, submission_keys  # local: the database driver

        return submission_keys(stack, current_primary(stack))

    return present


def sql_present(stack: Stack, source: SqlLedger) -> PresentKeys:
    def present(keys: Collection[str]) -> set[str]:
        import psycopg  # local: only a run that declares it needs the driver

        try:
            host, port = stack.published(source.service, source.port)
        except StackError as exc:
            raise ProbeFailed(f"the ledger's database: {exc.what}", fix=f"publish port {source.port} of "
                              f"{source.service} on 127.0.0.1 (ports: [\"127.0.0.1::{source.port}\"])") from None
        try:
            with psycopg.connect(host=host, port=port, dbname=source.database, user=source.user,
                                 password=source.password, connect_timeout=5, autocommit=True) as conn:
                rows = conn.execute(source.query, (sorted(keys),)).fetchall()
        except psycopg.Error as exc:
            raise ProbeFailed(f"the ledger's query on {source.service} failed: {str(exc).strip()}",
                              fix="check the query (key = any(%s) receives a text[]; cast a uuid column: "
                                  "key::text), the database, user and password") from None
        return {str(r[0]) for r in rows if r and r[0] is not None}

    return present


def http_present(stack: Stack, source: HttpLedger) -> PresentKeys:
    def present(keys: Collection[str]) -> set[str]:
        if len(keys) > MAX_HTTP_KEYS:
            raise ProbeFailed(f"{len(keys)} keys to look up one GET at a time (at most {MAX_HTTP_KEYS})",
                              fix="declare an `sql` ledger source, or a shorter load")
        base = urlsplit(host_url(stack, source.target))
        conn = http.client.HTTPConnection(base.hostname or "127.0.0.1", base.port or 80, timeout=5)
        held: set[str] = set()
        try:
            for key in keys:
                status = _get(conn, base.path.rstrip("/") + source.path.replace("${key}", quote(key, safe="")))
                if status in source.present:
                    held.add(key)
                elif status not in source.absent:
                    raise ProbeFailed(f"the ledger's GET {source.path} answered {status} for key {key}: neither "
                                      f"present {source.present} nor absent {source.absent}",
                                      fix="adjust `present`/`absent`, or check the service is back")
        finally:
            conn.close()
        return held

    return present


def _get(conn: http.client.HTTPConnection, path: str) -> int:
    for attempt in (1, 2):  # a kept-alive connection the server closed: once more on a fresh one
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            if attempt == 2:
                raise ProbeFailed(f"the ledger's GET {path} failed: {exc!r}") from None
    raise AssertionError("unreachable")


def present_keys(stack: Stack, declared: LedgerSource | None) -> PresentKeys:
    """How the ledger's keys are looked for: as the runbook declares, else in the ENT's submissions."""
    if declared is None:
        return ent_submissions(stack)
    if declared.sql is not None:
        return sql_present(stack, declared.sql)
    assert declared.http is not None
    return http_present(stack, declared.http)


def describe(declared: LedgerSource | None) -> dict[str, Any]:
    """What a journal or log says of the source (never the password)."""
    if declared is None:
        return {"source": "ent-submissions"}
    if declared.sql is not None:
        return {"source": "sql", "service": declared.sql.service, "query": declared.sql.query}
    assert declared.http is not None
    return {"source": "http", "path": declared.http.path}
