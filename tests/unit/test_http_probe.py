from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chaos.probes.http import HttpExpectation, http_get


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        code = 200 if self.path == "/ok" else 503
        body = b"<h1>ENT portal</h1>" if code == 200 else b"down"
        self.send_response(code)
        self.send_header("X-ENT-Replica", "app-sbg-1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_expectation_met(server):
    result = http_get(server + "/ok")
    expect = HttpExpectation(status=200, header="X-ENT-Replica: app-sbg-1", body_matches="ENT portal",
                             max_latency_ms=2000)
    assert expect.failures(result) == []


def test_each_expectation_can_fail(server):
    result = http_get(server + "/down")
    problems = HttpExpectation(status=200, header="X-ENT-Replica: app-rbx-1", body_matches="portal",
                               max_latency_ms=0).failures(result)
    assert len(problems) == 4
    assert "status 503" in problems[0] and "app-sbg-1" in problems[1]


def test_no_answer_is_reported_not_raised():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    result = http_get(f"http://127.0.0.1:{port}/", timeout_s=1)
    assert result.status is None and result.error
    assert "no answer" in HttpExpectation().failures(result)[0]
