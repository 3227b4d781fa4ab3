"""HTTP probe: status, a header, a body match and the latency of one request."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class HttpResult:
    url: str
    status: int | None  # None: no answer (refused, reset, timeout)
    headers: dict[str, str]
    body: bytes
    latency_ms: float
    error: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class HttpExpectation:
    status: int | None = 200
    header: str | None = None  # "Name" (present) or "Name: value" (equal)
    body_matches: str | None = None  # a regular expression
    max_latency_ms: float | None = None

    def failures(self, result: HttpResult) -> list[str]:
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
