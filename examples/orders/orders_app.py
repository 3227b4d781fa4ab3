"""orders: a small shop API (Starlette + psycopg), one replica per zone, one PostgreSQL behind both.

An order is acknowledged (201) only after its row is committed; its key is the client's idempotency key, so a
retried order is answered 200 and never stored twice.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import AsyncIterator

from psycopg.errors import Error as DbError
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

ZONE = os.environ.get("ORDERS_ZONE") or socket.gethostname()
pool = AsyncConnectionPool(os.environ["ORDERS_DB"], min_size=1, max_size=8, open=False, timeout=3)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await pool.open(wait=False)
    yield
    await pool.close()


async def home(request: Request) -> Response:
    return JSONResponse({"service": "orders", "zone": ZONE})


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def item(request: Request) -> Response:
    n = request.path_params["item"]
    return JSONResponse({"id": n, "price": round(1 + n * 0.37, 2)})


async def place(request: Request) -> Response:
    body = await request.json()
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "insert into orders (key, item, quantity, zone) values (%s, %s, %s, %s) on conflict (key) do nothing",
                (str(body["key"]), int(body["item"]), int(body["quantity"]), ZONE))
            created = cur.rowcount == 1
    except (KeyError, ValueError, TypeError):
        return JSONResponse({"error": "key, item and quantity are needed"}, status_code=400)
    except DbError:
        return JSONResponse({"error": "database unavailable"}, status_code=503, headers={"Retry-After": "1"})
    return JSONResponse({"key": body["key"], "zone": ZONE}, status_code=201 if created else 200)


async def receipt(request: Request) -> Response:
    try:
        async with pool.connection() as conn:
            row = await (await conn.execute("select item, quantity, zone from orders where key = %s",
                                            (request.path_params["key"],))).fetchone()
    except DbError:
        return JSONResponse({"error": "database unavailable"}, status_code=503, headers={"Retry-After": "1"})
    if row is None:
        return JSONResponse({"error": "no such order"}, status_code=404)
    return JSONResponse({"key": request.path_params["key"], "item": row[0], "quantity": row[1], "zone": row[2]})


app = Starlette(lifespan=lifespan, routes=[
    Route("/", home), Route("/health", health), Route("/items/{item:int}", item),
    Route("/orders", place, methods=["POST"]), Route("/orders/{key}", receipt),
])
