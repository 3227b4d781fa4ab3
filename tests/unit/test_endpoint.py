"""Where requests go (issue 13, item 4): the edge by default, a service and port of the project (its published
127.0.0.1 port from the host, its name from a client container), or a URL; mistakes refused at load time."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chaos.errors import ProbeFailed, RunbookInvalid, StackError
from chaos.model.loader import parse_runbook
from chaos.stack.endpoint import EDGE_INSIDE, Endpoint, host_url, inside_url


class Published:
    """A stack that publishes web:8080 on 127.0.0.1:32768 and nothing else."""

    def published(self, service: str, port: int) -> tuple[str, int]:
        if (service, port) == ("web", 8080):
            return "127.0.0.1", 32768
        raise StackError(f"service {service!r} publishes no port {port} in project 'shop'")

    def edge_url(self) -> str:
        return "http://127.0.0.1:8080"


def test_a_service_a_url_or_the_edge() -> None:
    stack = Published()
    web = Endpoint(service="web", port=8080)
    assert host_url(stack, web) == "http://127.0.0.1:32768"  # type: ignore[arg-type]
    assert inside_url(web) == "http://web:8080"
    url = Endpoint(url="http://127.0.0.1:9000/")
    assert host_url(stack, url) == inside_url(url) == "http://127.0.0.1:9000"  # type: ignore[arg-type]
    assert host_url(stack, None) == "http://127.0.0.1:8080" and inside_url(None) == EDGE_INSIDE  # type: ignore[arg-type]


def test_a_service_that_publishes_nothing_says_what_to_do() -> None:
    with pytest.raises(ProbeFailed) as exc:  # not measured: a wait-for polls on while the service is down
        host_url(Published(), Endpoint(service="db", port=5432))  # type: ignore[arg-type]
    assert "publishes no port 5432" in exc.value.message and "give a `url:`" in exc.value.message


@pytest.mark.parametrize("bad", [{}, {"service": "web"}, {"service": "web", "port": 8080, "url": "http://x"},
                                 {"url": "ftp://x"}, {"url": "http://x", "port": 80}, {"service": "web", "port": 0}])
def test_an_endpoint_is_one_thing(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        Endpoint(**bad)


RUNBOOK = """\
metadata: {name: shop}
load: {profile: "constant:5", journeys: {flood: 1}, target: {service: web, port: 8080}}
steps:
  - {id: look, probe: http, params: {path: /health, target: TARGET}, expect: {eq: 200}}
"""


def test_targets_are_checked_when_the_runbook_is_loaded() -> None:
    runbook = parse_runbook(RUNBOOK.replace("TARGET", "{service: web, port: 8080}"), "shop.yaml")
    assert runbook.load is not None and runbook.load.target == Endpoint(service="web", port=8080)
    with pytest.raises(RunbookInvalid, match=r"shop.yaml:4: .*give the `port` of 'web'"):
        parse_runbook(RUNBOOK.replace("TARGET", "{service: web}"), "shop.yaml")
