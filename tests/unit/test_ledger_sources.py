"""A ledger for any stack: the declared sources (SQL, a GET per key) and what the check makes of them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvloop
from pydantic import ValidationError

from chaos.errors import ProbeFailed
from chaos.load.ledger import WriteLedger
from chaos.load.ledger_sources import HttpLedger, LedgerSource, SqlLedger, http_present
from chaos.load.reference_server import Reply, start
from chaos.stack.endpoint import Endpoint


@pytest.fixture
def orders_server() -> Iterator[tuple[int, set[str]]]:
    """A server holding some order keys: 200 for those, 404 for the others, 500 for `boom`."""
    held: set[str] = {"a", "b c"}
    ready = threading.Event()
    box: dict[str, Any] = {}

    def handler(method: str, path: str, body: bytes) -> Reply:
        from urllib.parse import unquote

        key = unquote(path.rsplit("/", 1)[-1])
        return Reply(500) if key == "boom" else Reply(200 if key in held else 404)

    def serve() -> None:
        loop = uvloop.new_event_loop()
        server, port = loop.run_until_complete(start(handler))
        box.update(loop=loop, server=server, port=port)
        ready.set()
        loop.run_forever()
        server.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ready.wait(5)
    yield box["port"], held
    box["loop"].call_soon_threadsafe(box["loop"].stop)
    t.join(5)


def test_a_get_per_key_finds_which_writes_survived(orders_server: tuple[int, set[str]]) -> None:
    port, _ = orders_server
    source = HttpLedger(path="/orders/${key}", target=Endpoint(url=f"http://127.0.0.1:{port}"))
    present = http_present(None, source)  # type: ignore[arg-type]  # a URL target needs no stack
    assert present(["a", "b c", "lost"]) == {"a", "b c"}  # the key is quoted in the path
    ledger = WriteLedger()
    for key in ("a", "lost"):
        ledger.attempt(key, 0.0)
        ledger.answer(key, 0, 201, 1.0, acknowledged=True)
    check = ledger.check(present(set(ledger.attempts)))
    assert check.lost == ["lost"] and not check.ok  # an acknowledged write the system no longer holds
    with pytest.raises(ProbeFailed, match="neither present"):
        present(["boom"])


def test_a_sql_source_takes_one_read_query_with_one_parameter() -> None:
    ok = SqlLedger(service="db", database="shop", user="shop", query="select key from orders where key = any(%s)")
    assert LedgerSource(sql=ok).sql == ok
    for query, words in [("delete from orders where key = any(%s)", "reads"),
                         ("select key from orders", "exactly one `%s`"),
                         ("select key from orders where key = any(%s); drop table orders", "without `;`")]:
        with pytest.raises(ValidationError, match=words):
            SqlLedger(service="db", database="shop", user="shop", query=query)
    with pytest.raises(ValidationError, match="exactly one of `sql` or `http`"):
        LedgerSource()
    with pytest.raises(ValidationError):
        HttpLedger(path="/orders/")  # no ${key}


def test_an_unknown_ledger_database_service_is_refused(tmp_path: Any) -> None:
    from chaos.errors import RunbookInvalid
    from chaos.model.loader import load_runbook

    (tmp_path / "compose.yaml").write_text("services:\n  api: {image: x}\n  db: {image: y}\n")
    text = """\
metadata: {name: shop}
stack: {compose_file: compose.yaml}
load:
  profile: constant:5
  duration_s: 5
  target: {service: api, port: 8000}
  ledger: {sql: {service: DATABASE, database: shop, user: shop, query: "select key from t where key = any(%s)"}}
steps:
  - {id: held, wait-for: constant, params: {value: 1}, until: {eq: 1}, timeout_s: 5}
"""
    (tmp_path / "good.yaml").write_text(text.replace("DATABASE", "db"))
    assert load_runbook(tmp_path / "good.yaml").load is not None
    (tmp_path / "bad.yaml").write_text(text.replace("DATABASE", "orders-db"))
    with pytest.raises(RunbookInvalid) as err:
        load_runbook(tmp_path / "bad.yaml")
    assert "bad.yaml:7" in str(err.value.where) and "found 'orders-db'" in err.value.message
    assert "api, db" in err.value.message
