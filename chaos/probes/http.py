"""HTTP probe: status, a header, a body match and the latency of one request."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from chaos.probes.base import Measurement, Probe, ProbeContext, register_probe
from chaos.stack.endpoint import Endpoint, host_url


@dataclass(frozen=True)
class HttpResult:
    """One HTTP exchange as the client saw it; `status` None when nothing answered."""

    url: str
    status: int | None  # None: no answer (refused, reset, timeout)
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    error: str | None = None

    def header(self, name: str) -> str | None:
        """A response header by name (any case); None when absent."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HttpExpectation:
    """What an answer should be: a status, a header, a body pattern, a latency bound (None: any)."""

    status: int | None = 200
    header: str | None = None  # "Name" (present) or "Name: value" (equal)
    body_matches: str | None = None  # a regular expression
    max_latency_ms: float | None = None

    def failures(self, result: HttpResult) -> list[str]:
        """What in `result` breaks the expectation, one sentence each (none: it holds)."""
        problems = []
        if result.status is None:
            return [f"no answer from {result.url}: {result.error}"]
        if self.status is not None and result.status != self.status:
            problems.append(f"status {result.status}, expected {self.status}")
        if self.header:
            name, _, value = (part.strip() for part in self.header.partition(":"))
            got = result.header(name)
            if got is None or (value and got != value):
                problems.append(f"header {name}={got!r}, expected {value or 'present'}")
        if self.body_matches and not re.search(self.body_matches, result.body.decode(errors="replace")):
            problems.append(f"body does not match /{self.body_matches}/")
        if self.max_latency_ms is not None and result.latency_ms > self.max_latency_ms:
            problems.append(f"latency {result.latency_ms:.0f} ms > {self.max_latency_ms:.0f} ms")
        return problems


def http_get(url: str, *, method: str = "GET", body: bytes | None = None, timeout_s: float = 5.0,
             headers: dict[str, str] | None = None) -> HttpResult:
    """One request, timed; an answer with an error status is a result, no answer is one with `status` None."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            data = resp.read()
            status, hdrs = resp.status, resp.headers
    except urllib.error.HTTPError as err:
        data, status, hdrs = err.read(), err.code, err.headers
    except (OSError, urllib.error.URLError) as exc:
        return HttpResult(url, None, {}, b"", (time.perf_counter() - started) * 1000, str(exc))
    latency = (time.perf_counter() - started) * 1000
    return HttpResult(url, status, {k.lower(): v for k, v in hdrs.items()}, data, latency)

# ---- runbook probes -------------------------------------------------------------------------------------------





class _HttpParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str = "/"
    method: str = "GET"
    header: str | None = Field(default=None, description="return this header's value instead of the status")
    timeout_s: float = Field(default=5.0, gt=0, le=300, strict=True, allow_inf_nan=False)
    target: Endpoint | None = Field(default=None, description="{service, port} or {url}; default: the edge")


@register_probe("http")
class Http(Probe[_HttpParams]):
    """One request (through the edge, or to the `target`): its status (None when nothing answered), or one
    header's value."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        url = host_url(ctx.stack, self.params.target) + self.params.path
        result = http_get(url, method=self.params.method, timeout_s=self.params.timeout_s)
        return result.header(self.params.header) if self.params.header else result.status


class _WriteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login: str = "pupil0001"
    homework_id: int = Field(default=1, ge=1, le=1_000_000, strict=True)
    timeout_s: float = Field(default=5.0, gt=0, le=300, strict=True, allow_inf_nan=False)


@register_probe("app-write")
class AppWrite(Probe[_WriteParams]):
    """A pupil logs in and hands in homework through the edge: the status of the submission (201 = acked)."""

    def measure(self, ctx: ProbeContext) -> Measurement:
        base = ctx.stack.edge_url()
        json_headers = {"Content-Type": "application/json"}
        login = http_get(f"{base}/api/login", method="POST", timeout_s=self.params.timeout_s, headers=json_headers,
                         body=json.dumps({"login": self.params.login, "password": "ent"}).encode())
        if login.status != 200:
            return login.status
        token = json.loads(login.body)["token"]
        submit = http_get(
            f"{base}/api/homework/{self.params.homework_id}/submissions", method="POST",
            timeout_s=self.params.timeout_s, headers={**json_headers, "Authorization": f"Bearer {token}"},
            body=json.dumps({"key": str(uuid.uuid4()), "content": "probe"}).encode(),
        )
        return submit.status
