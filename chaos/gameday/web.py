"""The game-day page: served on 127.0.0.1 while the run goes on (Starlette on uvicorn, in a thread of the run).

    GET  /            the page (chaos/gameday/page.html): ?role=<role> shows that role's instructions
    GET  /state       the state as JSON
    GET  /events      the state, pushed on every change (server-sent events)
    POST /act         {"step_id", "role", "action": done|skip|abort, "text"}: an answer to a manual step
    POST /note        {"role", "text"}: a note for the review
    POST /facilitate  {"role": the facilitator, "action": inject|end|pause|resume, "surprise"}: the facilitator's hand

Posts must be JSON (a page from elsewhere cannot send them as a plain form) and come to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from chaos.errors import EnvironmentProblem
from chaos.gameday.console import GameState, PageOperator
from chaos.log import get_logger

log = get_logger(__name__)

PAGE = Path(__file__).with_name("page.html")
HEARTBEAT_S = 10.0


def make_app(state: GameState, operator: PageOperator) -> Any:
    """The Starlette application of the page."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, StreamingResponse
    from starlette.routing import Route

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(), headers={"Cache-Control": "no-store"})

    async def current(request: Request) -> JSONResponse:
        return JSONResponse(state.snapshot())

    async def events(request: Request) -> StreamingResponse:
        async def stream() -> AsyncIterator[str]:
            version = -1
            while not await request.is_disconnected():
                now = await asyncio.to_thread(state.wait_change, version, HEARTBEAT_S)
                if now == version:
                    yield ": still here\n\n"
                    continue
                version = now
                yield f"data: {json.dumps(state.snapshot())}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def body_of(request: Request) -> dict[str, Any] | JSONResponse:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse({"error": "send JSON (Content-Type: application/json)"}, status_code=415)
        try:
            data = await request.json()
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "expected a JSON object"}, status_code=400)
        return data

    def text_of(data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    async def act(request: Request) -> JSONResponse:
        data = await body_of(request)
        if isinstance(data, JSONResponse):
            return data
        problem = operator.act(text_of(data, "step_id"), data.get("role") or None, text_of(data, "action"),
                               text_of(data, "text"))
        return JSONResponse({"error": problem} if problem else {"ok": True}, status_code=409 if problem else 200)

    async def note(request: Request) -> JSONResponse:
        data = await body_of(request)
        if isinstance(data, JSONResponse):
            return data
        problem = state.note(data.get("role") or None, text_of(data, "text"))
        return JSONResponse({"error": problem} if problem else {"ok": True}, status_code=409 if problem else 200)

    async def facilitate(request: Request) -> JSONResponse:
        data = await body_of(request)
        if isinstance(data, JSONResponse):
            return data
        # The hand may revert a fault or signal the load: off the event loop, the page stays live meanwhile.
        problem = await asyncio.to_thread(state.facilitate, data.get("role") or None, text_of(data, "action"),
                                          text_of(data, "surprise"))
        return JSONResponse({"error": problem} if problem else {"ok": True}, status_code=409 if problem else 200)

    return Starlette(routes=[Route("/", page), Route("/state", current), Route("/events", events),
                             Route("/act", act, methods=["POST"]), Route("/note", note, methods=["POST"]),
                             Route("/facilitate", facilitate, methods=["POST"])])


class GamedayServer:
    """The page served from a daemon thread of the run, on 127.0.0.1:`port`, until `stop`."""

    def __init__(self, state: GameState, operator: PageOperator, port: int) -> None:
        import uvicorn

        self.port = port
        config = uvicorn.Config(make_app(state, operator), host="127.0.0.1", port=port, log_level="warning",
                                lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gameday-page", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self, ready_s: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + ready_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise EnvironmentProblem(f"the game-day page could not be served on 127.0.0.1:{self.port}",
                                         fix="choose another port with --web PORT (is this one taken?)")
            time.sleep(0.05)
        log.info("gameday_page_served", url=self.url)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)
