"""Where HTTP requests go: the edge by default, or a service and port of the project, or a URL.

From the host a service is reached on the port it publishes on 127.0.0.1 (a service publishing nothing is an
error that says so); from a client container (`source: internet-fr`) by its name on the project's networks.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chaos.errors import ProbeFailed, StackError
from chaos.limits import Name
from chaos.stack.interface import Stack

EDGE_INSIDE = "http://edge:80"  # the edge as seen from the client networks
Url = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$", max_length=2000)]


class Endpoint(BaseModel):
    """`{service: web, port: 8080}` or `{url: http://127.0.0.1:8080}`; absent: the edge."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    service: Name | None = None
    port: int | None = Field(default=None, ge=1, le=65535, strict=True)
    url: Url | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Endpoint:
        if (self.url is None) == (self.service is None):
            raise ValueError("give either `service` (with `port`) or `url`")
        if self.service is not None and self.port is None:
            raise ValueError(f"give the `port` of {self.service!r} the requests go to (its container port)")
        if self.url is not None and self.port is not None:
            raise ValueError("`port` goes with `service`; a `url` carries its own")
        return self


def host_url(stack: Stack, endpoint: Endpoint | None) -> str:
    """The base URL from the host: the edge's, the service's published port, or the URL as given."""
    if endpoint is None:
        return stack.edge_url()
    if endpoint.url is not None:
        return endpoint.url.rstrip("/")
    assert endpoint.service is not None and endpoint.port is not None  # Endpoint's own rule
    try:
        host, port = stack.published(endpoint.service, endpoint.port)
    except StackError as exc:  # not measured (a wait-for polls on; a service down publishes nothing either)
        raise ProbeFailed(f"{exc.what}: the host reaches a service only through a port it publishes on 127.0.0.1 "
                          "(is it running?)",
                          fix=f"publish it (ports: [\"127.0.0.1::{endpoint.port}\"]), give a `url:`, or send the "
                              "load from a client container (`source:`)") from None
    return f"http://{host}:{port}"


def inside_url(endpoint: Endpoint | None) -> str:
    """The base URL from a client container on the project's networks."""
    if endpoint is None:
        return EDGE_INSIDE
    if endpoint.url is not None:
        return endpoint.url.rstrip("/")
    return f"http://{endpoint.service}:{endpoint.port}"
