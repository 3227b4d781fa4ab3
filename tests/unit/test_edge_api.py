from __future__ import annotations

import socket
import threading

import pytest

from chaos.errors import ProbeFailed
from chaos.stack.haproxy_runtime import EdgeAPI

SHOW_STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
    "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,"
    "type,rate,rate_lim,rate_max,check_status,check_code,check_duration\n"
    "ent,FRONTEND,,,3,10,20000,100,,,,,,,,,,OPEN,,,,,,,,,1,2,0,,,,0,1,0,5,,,\n"
    "ent_app,app-sbg-1,0,0,1,3,,50,,,,,,0,0,0,0,UP,1,1,0,0,0,120,0,,1,3,1,,50,,2,0,,3,L7OK,200,1\n"
    "ent_app,app-sbg-2,2,4,0,3,,40,,,,,,0,0,0,0,DOWN,1,1,0,3,1,4,4,,1,3,2,,40,,2,0,,3,L4CON,,0\n"
    "ent_app,fallback,0,0,0,0,,0,,,,,,0,0,0,0,UP,1,0,1,0,0,300,0,,1,3,3,,0,,2,0,,0,L7OK,200,0\n"
    "ent_app,BACKEND,0,0,1,3,,90,,,,,,0,0,0,0,UP,2,2,1,,0,300,0,,1,3,0,,90,,1,0,,3,,,\n"
    "\n"
)


class FakeRuntimeAPI:
    """A TCP server that answers like HAProxy's stats socket: one command, one answer, close."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.received: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                line = conn.makefile().readline().strip()
                self.received.append(line)
                conn.sendall(self.answers.get(line.split(" ")[0] + " " + line.split(" ")[1], "").encode())


def test_servers_parse_show_stat():
    fake = FakeRuntimeAPI({"show stat": SHOW_STAT})
    states = {s.server: s for s in EdgeAPI("127.0.0.1", fake.port).servers()}
    assert set(states) == {"app-sbg-1", "app-sbg-2", "fallback"}
    assert states["app-sbg-1"].is_up and states["app-sbg-1"].last_change_s == 120
    assert states["app-sbg-2"].is_down and states["app-sbg-2"].queued == 2
    assert states["app-sbg-2"].check_status == "L4CON"
    assert states["fallback"].backup and not states["app-sbg-1"].backup


def test_going_down_is_still_up_until_fall_checks_failed():
    fake = FakeRuntimeAPI({"show stat": SHOW_STAT.replace(",DOWN,", ",UP 1/2,")})
    state = next(s for s in EdgeAPI("127.0.0.1", fake.port).servers() if s.server == "app-sbg-2")
    assert state.is_up


def test_set_server_state_sends_the_command_and_reports_refusal():
    fake = FakeRuntimeAPI({"set server": ""})
    EdgeAPI("127.0.0.1", fake.port).set_server_state("ent_app", "app-sbg-1", "drain")
    assert fake.received == ["set server ent_app/app-sbg-1 state drain"]
    refusing = FakeRuntimeAPI({"set server": "No such server.\n"})
    with pytest.raises(ProbeFailed, match="No such server"):
        EdgeAPI("127.0.0.1", refusing.port).set_server_state("ent_app", "nope", "drain")


def test_unreachable_api_says_where_and_what_to_do():
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(ProbeFailed, match=r"127\.0\.0\.1:\d+.*entchaos stack status"):
        EdgeAPI("127.0.0.1", port, timeout_s=0.5).servers()
