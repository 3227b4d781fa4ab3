"""The edge's protections on the real stack, one stack per profile: rate limit, waiting room,
slow clients, geo filter (through its playbooks), and the fallback never shadowed."""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import docker.errors
import pytest
from tenacity import retry, stop_after_delay, wait_fixed

from chaos.remediation.runner import run_playbook_or_raise
from chaos.stack.compose import ComposeStack
from chaos.stack.docker_api import docker_client
from chaos.stack.health import wait_ready
from chaos.stack.profiles import profile_env
from tests.integration.conftest import down, new_stack
from tests.integration.http_util import Reply, request

pytestmark = pytest.mark.docker

# Small figures make each protection show with little traffic: 4 replicas x 2 in service + 8 queued
# = 16 requests in the system, the rest in the waiting room; 100 requests/s per source; each API
# request burns 20 ms of CPU so a burst really does pile up.
FIGURES = {
    "ENTCHAOS_EDGE_SERVER_MAXCONN": "2",
    "ENTCHAOS_EDGE_QUEUE": "8",
    "ENTCHAOS_EDGE_RATE_LIMIT": "100",
    "ENTCHAOS_EDGE_HTTP_REQUEST_TIMEOUT": "2s",
    "ENTCHAOS_APP_COST_MS": "20",
}
BURST = 60


@pytest.fixture(scope="module")
def stacks() -> Iterator[dict[str, ComposeStack]]:
    """Both profiles side by side, started together; distinct client subnets inside the mapped ranges."""
    fr, abroad = random.sample(range(1, 255), 2), random.sample(range(1, 255), 2)
    made = {
        profile: new_stack(
            **profile_env(profile),
            **FIGURES,
            ENTCHAOS_NET_FR=f"10.98.{fr[i]}.0/24",
            ENTCHAOS_NET_ABROAD=f"10.99.{abroad[i]}.0/24",
        )
        for i, profile in enumerate(("protected", "unprotected"))
    }
    try:
        for stack in made.values():
            stack.up()
        for stack in made.values():
            wait_ready(stack, deadline_s=240)
        yield made
    finally:
        for stack in made.values():
            down(stack)


def from_client(stack: ComposeStack, client: str, script: str) -> dict:
    """Run a Python snippet in a client container (its source address is on that client network)."""
    container = docker_client().containers.get(stack.container_of(client).id)
    code, out = container.exec_run(["python3", "-c", script])
    assert code == 0, out.decode(errors="replace")
    return json.loads(out.decode().strip().splitlines()[-1])


GET_ONE = """
import json, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://edge:80/", timeout=10); status, hdrs, body = r.status, r.headers, r.read()
except urllib.error.HTTPError as e:
    status, hdrs, body = e.code, e.headers, e.read()
print(json.dumps({"status": status, "shed": hdrs.get("X-ENT-Shed"), "body": body.decode(errors="replace")}))
"""

# One thread, non-blocking sockets: connections are opened first, then every request leaves within a
# few milliseconds and each answer is timed on arrival, so the timing is the edge's, not the GIL's.
BURST_SCRIPT = """
import json, selectors, socket, time
n = N_REQUESTS
socks = [socket.create_connection(("edge", 80), timeout=10) for _ in range(n)]
req = b"GET /api/timetable HTTP/1.1\\r\\nHost: edge\\r\\nConnection: close\\r\\n\\r\\n"
sel, sent, data, done = selectors.DefaultSelector(), {}, {}, {}
for i, s in enumerate(socks):
    s.setblocking(False); sent[i] = time.perf_counter(); s.send(req); data[i] = b""
    sel.register(s, selectors.EVENT_READ, i)
deadline = time.monotonic() + 30
while sel.get_map() and time.monotonic() < deadline:
    for key, _ in sel.select(1):
        i, chunk = key.data, key.fileobj.recv(65536)
        data[i] += chunk
        if i not in done and b"\\r\\n\\r\\n" in data[i]:
            done[i] = time.perf_counter()
        if not chunk:
            sel.unregister(key.fileobj); key.fileobj.close()
out = []
for i in range(n):
    head = data[i].split(b"\\r\\n\\r\\n")[0].decode(errors="replace").split("\\r\\n")
    hd = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in head[1:])}
    out.append({"status": int(head[0].split()[1]), "ms": 1000 * (done[i] - sent[i]),
                "shed": hd.get("x-ent-shed"), "retry_after": hd.get("retry-after")})
print(json.dumps(out))
""".replace("N_REQUESTS", str(BURST))


def burst(stack: ComposeStack) -> list[dict]:
    container = docker_client().containers.get(stack.container_of("client-fr").id)
    code, out = container.exec_run(["python3", "-c", BURST_SCRIPT])
    assert code == 0, out.decode(errors="replace")
    return json.loads(out.decode().strip().splitlines()[-1])


def hammer(stack: ComposeStack, n: int = 250) -> list[Reply]:
    """n requests from the host (one source) as fast as 8 threads go: well over 100/s."""
    url = stack.edge_url() + "/healthz"
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda _: request("GET", url), range(n)))


def edge_counter(stack: ComposeStack, backend: str) -> int:
    from chaos.probes.edge import EdgeAPI

    api = EdgeAPI(*stack.edge_api())
    rows = api.command("show stat").lstrip("# ").splitlines()
    header = rows[0].split(",")
    for row in rows[1:]:
        cells = dict(zip(header, row.split(","), strict=False))
        if cells.get("pxname") == backend and cells.get("svname") == "BACKEND":
            return int(cells["stot"])
    raise AssertionError(f"no backend {backend} in show stat")


@pytest.mark.parametrize("profile", ["protected", "unprotected", "bogus"])
def test_edge_config_is_checked_by_haproxy(profile):
    run = ["haproxy", "-c", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
    client = docker_client()
    if profile == "bogus":
        with pytest.raises(docker.errors.ContainerError, match="ENTCHAOS_PROFILE must be"):
            client.containers.run("entchaos/edge:latest", run, environment={"ENTCHAOS_PROFILE": profile}, remove=True)
    else:
        out = client.containers.run(
            "entchaos/edge:latest", run, environment={"ENTCHAOS_PROFILE": profile}, remove=True, stderr=True
        )
        assert b"Configuration file is valid" in out


def test_rate_limit_per_source_only_when_protected(stacks):
    limited = [r for r in hammer(stacks["protected"]) if r.status == 429]
    assert limited, "250 requests in well under 2 s from one source must cross 100/s"
    assert all(r.headers.get("retry-after") == "1" for r in limited)
    assert all(r.headers.get("x-ent-shed") == "rate-limit" and r.headers.get("x-ent-edge") for r in limited)
    assert edge_counter(stacks["protected"], "rate_limited") >= len(limited)
    assert {r.status for r in hammer(stacks["unprotected"])} == {200}


def test_waiting_room_answers_fast_beyond_maxconn_and_queue(stacks):
    answers = burst(stacks["protected"])
    waiting = [a for a in answers if a["status"] == 503]
    admitted = [a for a in answers if a["status"] == 401]  # the app's answer: no token
    assert len(waiting) >= BURST - 16 - 8, answers  # 16 in the system; a few slip in as slots free
    assert admitted, answers
    assert all(a["shed"] == "waiting-room" and a["retry_after"] for a in waiting)
    fast = sorted(a["ms"] for a in waiting)
    assert fast[int(0.99 * (len(fast) - 1))] < 100, fast

    answers = burst(stacks["unprotected"])
    assert {a["status"] for a in answers} == {401}, "2021: everyone is let in and waits"


def _held_seconds(stack: ComposeStack, limit_s: float) -> float:
    """Send half a request line and wait: how long the edge keeps the connection."""
    host, port = stack.published("edge", 80)
    with socket.create_connection((host, port), timeout=limit_s) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: edge\r\n")
        started = time.monotonic()
        try:
            while sock.recv(4096):
                pass
        except TimeoutError:
            return limit_s
        return time.monotonic() - started


def test_slow_clients_are_cut_only_when_protected(stacks):
    with ThreadPoolExecutor(2) as pool:
        protected = pool.submit(_held_seconds, stacks["protected"], 6.0)
        unprotected = pool.submit(_held_seconds, stacks["unprotected"], 6.0)
    assert protected.result() < 2.0 + 1.0  # timeout http-request 2 s here
    assert unprotected.result() >= 6.0


def test_geo_filter_switched_by_playbooks(stacks):
    stack = stacks["protected"]
    refused_before = edge_counter(stack, "geo_refused")
    try:
        run_playbook_or_raise("geo-filter-on", stack)
        abroad = from_client(stack, "client-abroad", GET_ONE)
        assert abroad["status"] == 403 and abroad["shed"] == "geo-filter", abroad
        assert "outside France" in abroad["body"]
        assert from_client(stack, "client-fr", GET_ONE)["status"] == 200
        assert edge_counter(stack, "geo_refused") == refused_before + 1
    finally:
        run_playbook_or_raise("geo-filter-off", stack)
    assert from_client(stack, "client-abroad", GET_ONE)["status"] == 200

    # No geo filter in 2021: the switch is set, nothing reads it.
    try:
        run_playbook_or_raise("geo-filter-on", stacks["unprotected"])
        assert from_client(stacks["unprotected"], "client-abroad", GET_ONE)["status"] == 200
    finally:
        run_playbook_or_raise("geo-filter-off", stacks["unprotected"])


def test_waiting_room_never_shadows_the_fallback(stacks):
    stack = stacks["protected"]
    client = docker_client()
    apps = [t for t in stack.targets() if t.role == "app"]
    try:
        for t in apps:
            client.containers.get(t.id).stop(timeout=2)

        @retry(stop=stop_after_delay(15), wait=wait_fixed(0.5), reraise=True)
        def fallback_serves() -> None:
            reply = request("GET", stack.edge_url() + "/api/timetable")
            assert reply.status == 200 and reply.headers.get("x-ent-fallback") == "broadcast", reply.status

        fallback_serves()
        answers = burst(stack)
        assert {a["status"] for a in answers} == {200}, "reads all go to the fallback, none to the waiting room"
    finally:
        for t in apps:
            client.containers.get(t.id).start()
        wait_ready(stack, deadline_s=90)
