"""What the user got, in one word. Classes are small ints on the hot path; names are for people and files."""

from __future__ import annotations

from collections.abc import Mapping

APP, FALLBACK, SHED, ERROR, TIMEOUT, REFUSED = range(6)
CLASSES: tuple[str, ...] = ("app", "fallback", "shed", "error", "timeout", "refused")
CLASS_INDEX = {name: i for i, name in enumerate(CLASSES)}

# Headers the classifier and the journeys need; the client extracts only these (lower-case names).
REPLICA = "x-ent-replica"
FALLBACK_HEADER = "x-ent-fallback"
SHED_HEADER = "x-ent-shed"
RETRY_AFTER = "retry-after"
WANTED_HEADERS: tuple[str, ...] = (REPLICA, FALLBACK_HEADER, SHED_HEADER, RETRY_AFTER, "x-ent-datacenter")


def classify(status: int, headers: Mapping[str, str]) -> int:
    """Class of a complete HTTP response (timeouts and refusals are decided by the client, not here).

    A 2xx/3xx answer without either marker header is an `error`: something other than the ENT answered,
    and claiming it as availability would flatter the stack.
    """
    if status == 429 or (status == 503 and RETRY_AFTER in headers) or (status >= 400 and SHED_HEADER in headers):
        return SHED  # refused on purpose: rate limit, waiting room, the geo filter's 403 (X-ENT-Shed)
    if 200 <= status < 400:
        if FALLBACK_HEADER in headers and status < 300:
            return FALLBACK
        if REPLICA in headers:
            return APP
    return ERROR


def classify_by_status(status: int, headers: Mapping[str, str]) -> int:
    """For a stack that is not the ENT (no marker headers): a 2xx/3xx answer is served by the app, unless it says
    it is the fallback; 429, or 503 with Retry-After, is shed; anything else is an error."""
    if status == 429 or (status == 503 and RETRY_AFTER in headers) or (status >= 400 and SHED_HEADER in headers):
        return SHED
    if 200 <= status < 400:
        return FALLBACK if FALLBACK_HEADER in headers and status < 300 else APP
    return ERROR


# How answers are told apart: by the ENT's marker headers (the bundled stack), or by status (any other stack).
CLASSIFIERS = {"markers": classify, "status": classify_by_status}


def classify_name(status: int, headers: Mapping[str, str]) -> str:
    """The name of the class an answer falls in (`app`, `fallback`, `refused` …)."""
    return CLASSES[classify(status, headers)]
