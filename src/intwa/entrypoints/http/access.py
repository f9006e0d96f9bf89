"""Every HTTP request's line in the request log, its sample in the metrics, and its `X-Request-ID`.

One pure ASGI middleware around the whole application, so unknown paths and refused methods are seen
too. It runs on every request of the hot path, so it stays lean: it reads no body, it learns the
envelope's code from the scope (the exception handlers put it there; no code there means success), and
it builds the log line only when the `intwa.access` logger is enabled.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
from bisect import bisect_left
from time import perf_counter
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from intwa.domain.models import Account

access_logger = logging.getLogger("intwa.access")

ACCOUNT_KEY = "intwa.account"
"""Scope key of the request's authenticated `Account`, set by the account endpoints when they authenticate."""
ENVELOPE_CODE_KEY = "intwa.code"
"""Scope key of the error envelope's code, set by the exception handlers."""
REQUEST_ID_KEY = "intwa.request_id"
"""Scope key of the request id: the client's `X-Request-ID` when it is sane, else a new one."""

API_PREFIX = "/intwa-api/"
QUIET_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Probes and scrapes come every few seconds: their lines are logged at DEBUG, not INFO."""
UNMATCHED_ROUTE = "unmatched"
"""The route label of requests that match no route: never the raw path, which would grow without bound."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Upper bounds, in seconds, of the request duration histogram's buckets (then +Inf)."""

_REQUEST_ID_HEADER = b"x-request-id"
_SANE_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")
_LONGEST_LOGGED_PATH = 512
_LONGEST_LOGGED_METHOD = 32
_ACCESS_LINE = (
    "%(method)s %(path)s %(status)d code=%(_code)s account=%(_account)s %(duration_ms).2fms id=%(request_id)s"
)
# A random prefix per process and a counter: unique across workers and restarts, and cheaper than uuid4.
_ID_PREFIX = secrets.token_hex(6)
_id_counter = itertools.count(1)


def new_request_id() -> str:
    """A fresh request id, e.g. `5f0c3a9be12d-1f4`."""
    return f"{_ID_PREFIX}-{next(_id_counter):x}"


def request_id_of(scope: Scope) -> str:
    """The id of the request in this scope; a fresh one when the middleware did not see it."""
    request_id: str | None = cast("dict[str, Any]", scope).get(REQUEST_ID_KEY)
    return request_id or new_request_id()


class DurationHistogram:
    """Request durations of one route in `DURATION_BUCKETS`; the last count is the +Inf bucket's."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(DURATION_BUCKETS, seconds)] += 1
        self.sum += seconds


class HttpStats:
    """Requests by (route, method, HTTP status, envelope code) and their durations by route.

    Plain counters, read by `GET /metrics` at scrape time: about 0.3 µs a request, where
    prometheus-client's labelled Counter and Histogram take about 3 µs. `code` is None for answers
    that are not envelopes (probes, `/metrics`, the schema).
    """

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int, int | None], int] = {}
        self.durations: dict[str, DurationHistogram] = {}

    def record(self, route: str, method: str, status: int, code: int | None, seconds: float) -> None:
        key = (route, method, status, code)
        self.requests[key] = self.requests.get(key, 0) + 1
        histogram = self.durations.get(route)
        if histogram is None:
            histogram = self.durations[route] = DurationHistogram()
        histogram.observe(seconds)


class AccessMiddleware:
    """Give each request an id (echoed as `X-Request-ID`), count it in `HttpStats` and log one line for it.

    The line, at INFO on `intwa.access`: method, path (never the query), HTTP status, envelope code,
    account, duration and request id, also as separate keys of a JSON log record. Headers and bodies are
    never logged. Lines are written at the end of the event loop's turn, together: a log record costs
    a third as much when the logging code is warm from the previous one, and under load many requests
    end in one turn.
    """

    def __init__(self, app: ASGIApp, stats: HttpStats) -> None:
        self._app = app
        self._stats = stats
        self._lines: list[tuple[int, dict[str, Any]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self._app(scope, receive, send)
            return
        started = perf_counter()
        state: dict[str, Any] = scope  # type: ignore[assignment]  # for intwa's own keys
        path = scope["path"]  # read now: routing rewrites it
        request_id, echoed = _request_id(scope["headers"])
        state[REQUEST_ID_KEY] = request_id
        status = 500  # what the server answers if the application fails before it answers

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self._app(scope, receive, send_with_request_id)
        finally:
            seconds = perf_counter() - started
            code: int | None = state.get(ENVELOPE_CODE_KEY)
            if code is None and status < 400 and path.startswith(API_PREFIX):
                code = 0
            method: str = state["method"]
            self._stats.record(
                state.get("path_template") or UNMATCHED_ROUTE,
                method if method in METHODS else "other",
                status,
                code,
                seconds,
            )
            level = logging.DEBUG if path in QUIET_PATHS else logging.INFO
            if access_logger.isEnabledFor(level):
                self._log(level, state, method, path, status, code, request_id, seconds)

    def _log(
        self,
        level: int,
        state: dict[str, Any],
        method: str,
        path: str,
        status: int,
        code: int | None,
        request_id: str,
        seconds: float,
    ) -> None:
        account: Account | None = state.get(ACCOUNT_KEY)
        account_name = account.name if account is not None else None
        if len(path) > _LONGEST_LOGGED_PATH or not path.isprintable():
            # The path is the client's: no control characters (a forged log line) and no novel.
            path = path[:_LONGEST_LOGGED_PATH].encode("unicode_escape").decode("ascii")
        if len(method) > _LONGEST_LOGGED_METHOD:  # any token HTTP allows reaches us (`http_protocol.py`)
            method = method[:_LONGEST_LOGGED_METHOD]
        # One mapping for the text line and the JSON keys alike: `JsonFormatter` adds a mapping's keys,
        # but those starting with `_`, which show an absent code or account as `-` in the text line.
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "code": code,
            "account": account_name,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
            "_code": "-" if code is None else code,
            "_account": account_name or "-",
        }
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.write_lines)
        self._lines.append((level, fields))

    def write_lines(self) -> None:
        """Write the lines of the requests that ended since the last call."""
        lines, self._lines = self._lines, []
        for level, fields in lines:
            access_logger.log(level, _ACCESS_LINE, fields)


def _request_id(headers: Any) -> tuple[str, tuple[bytes, bytes]]:
    """The client's `X-Request-ID` if it is 1–128 of `A-Z a-z 0-9 . _ -`, else a new id; and its echo header."""
    for name, value in headers:
        if name == _REQUEST_ID_HEADER:
            if _SANE_REQUEST_ID.fullmatch(value):
                return value.decode("ascii"), (_REQUEST_ID_HEADER, value)
            break
    request_id = new_request_id()
    return request_id, (_REQUEST_ID_HEADER, request_id.encode("ascii"))
