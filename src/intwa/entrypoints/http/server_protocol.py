"""How intwa's HTTP server runs under uvicorn, with the limits of SPEC §5 `[server]` that keep any client
from holding a worker (SPEC §7).

httptools bounds neither a request's head nor the time it takes to arrive, and uvicorn bounds neither
that time nor a worker's connections: one header of tens of megabytes stalled a worker for seconds
(httptools grows a header value by appending, each chunk copying all that came before) and kept the
memory, and silent or half-sent requests held their connections forever. `BoundedHttpToolsProtocol` is
uvicorn's httptools protocol with:

- `max_header_bytes`: a request's line and headers are fed to the parser up to that many bytes; past it
  the answer is 431 (43100) and the connection closes. The count starts again with each request (the
  head of a pipelined request that begins in the same read as the end of the one before is counted
  from the next read on).
- `request_read_timeout_seconds`: a request's head and body must arrive within it, counted from its first
  byte (blank lines before it included), or from the connection's opening for its first request (a
  connection that never sends anything is closed too); past it the connection closes without an answer.
  While intwa itself stopped reading (a pipelined request waiting for the one before it) the time does
  not count. uvicorn's keep-alive timer alone was not enough: any byte cancels it.
- `max_connections`: a connection past the worker's limit is answered 503 (50302, `Retry-After: 1`) as soon
  as it is accepted, without waiting for its request. uvicorn's `limit_concurrency` was not enough: it
  answers only once a request's head has arrived, so silent connections stay held, and counts tasks too.
- `keep_alive_seconds`: uvicorn's own `timeout_keep_alive`.

A refused connection closes gracefully: the answer, end of stream, then whatever the client still sends
is read and dropped until it closes, for at most `LINGER_SECONDS`; closing at once with unread data would
reset the connection and the client could lose the answer.

uvicorn's protocol class is not public API. What this relies on: the methods overridden below and the
attributes `transport`, `flow`, `cycle`, `connections`, `server_state` and `loop`, as uvicorn 0.54 has
them (uvicorn is not bound above). `verify_uvicorn_seams` refuses to start when a method is missing, and
`tests/e2e/test_server_limits.py` breaks when their behaviour changes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from http import HTTPStatus
from typing import Any

import msgspec
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from intwa.entrypoints.http.http_protocol import AnyMethodHttpProtocol
from intwa.entrypoints.http.schemas import ErrorEnvelope
from intwa.settings import ServerSettings

LINGER_SECONDS = 2.0
"""How long a refused connection's remaining request is read and dropped before the connection closes."""
WARNING_INTERVAL_SECONDS = 60.0
"""Refusals are logged at most once a minute per kind and worker: a flood must not flood the log too."""

logger = logging.getLogger("intwa.http")

_SEAMS = (
    "_unset_keepalive_if_required",
    "connection_made",
    "connection_lost",
    "data_received",
    "on_message_begin",
    "on_headers_complete",
    "on_message_complete",
)


class UvicornChanged(RuntimeError):
    """uvicorn's httptools protocol no longer has what `BoundedHttpToolsProtocol` builds on."""


class Refusal(msgspec.Struct, frozen=True):
    """An answer sent by the protocol itself, before or instead of the app: an envelope, then close."""

    status_line: bytes
    rest: bytes  # own headers, the blank line and the body

    @classmethod
    def of(cls, code: int, message: str, *headers: tuple[bytes, bytes]) -> Refusal:
        status = code // 100
        body = msgspec.json.encode(ErrorEnvelope(code=code, message=message))
        fields = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *headers,
        ]
        return cls(
            status_line=f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode(),
            rest=b"".join(name + b": " + value + b"\r\n" for name, value in fields) + b"\r\n" + body,
        )

    def encode(self, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        """The whole answer, with uvicorn's `date` and `server` headers of the moment."""
        headers = (name + b": " + value + b"\r\n" for name, value in default_headers)
        return b"".join([self.status_line, *headers, self.rest])


class ConnectionLimits:
    """One worker's `[server]` limits and refusals, shared by all its connections."""

    def __init__(self, server: ServerSettings) -> None:
        self.max_header_bytes = server.max_header_bytes
        self.max_connections = server.max_connections
        self.read_timeout = server.request_read_timeout_seconds
        self.header_too_large = Refusal.of(
            43100, f"the request line and headers are larger than {server.max_header_bytes} bytes"
        )
        self.over_capacity = Refusal.of(
            50302, "the server is at its connection limit; retry shortly", (b"retry-after", b"1")
        )
        self._warned_at: dict[str, float] = {}

    def warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned_at.get(kind, -math.inf) >= WARNING_INTERVAL_SECONDS:
            self._warned_at[kind] = now
            logger.warning("%s (logged at most once a minute per worker)", message)


class BoundedHttpToolsProtocol(AnyMethodHttpProtocol):
    """`AnyMethodHttpProtocol` within `ConnectionLimits`: a header limit, a read deadline, a connection cap."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._in_head = True
        self._head_bytes = 0  # of the request whose head is being read
        self._heads_read = 0
        self._reading_since: float | None = None  # loop time a request began to arrive; None between requests
        self._deadline: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.connections.discard(self)  # a refused connection does not count against the others
            self.limits.warn(
                "capacity", f"refused connections past server.max_connections ({self.limits.max_connections}) with 503"
            )
            self._refuse(self.limits.over_capacity)
            return
        self._reading_since = self.loop.time()
        self._arm_deadline(self._reading_since)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: read and dropped
        if self._reading_since is None:  # whatever it is: blank lines before a request count too
            self._reading_since = self.loop.time()
        if self._in_head and len(data) > self.limits.max_header_bytes - self._head_bytes:
            self._feed_past_head_limit(data)
        else:
            if self._in_head:
                self._head_bytes += len(data)
            super().data_received(data)
        if self._reading_since is not None and self._deadline is None and not self.transport.is_closing():
            self._arm_deadline(self._reading_since)

    def _feed_past_head_limit(self, data: bytes) -> None:
        """Feeds what fits in the head's limit, and the rest only when the head ended within it."""
        room = self.limits.max_header_bytes - self._head_bytes
        heads_read = self._heads_read
        if room > 0:
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._heads_read > heads_read:
            super().data_received(data[room:])
        elif self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # the answer to the pipelined request before it is being sent
        else:
            self.limits.warn(
                "header",
                f"refused request heads past server.max_header_bytes ({self.limits.max_header_bytes}) with 431",
            )
            self._refuse(self.limits.header_too_large)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._reading_since is None:  # a pipelined request that began in the read that ended the one before
            self._reading_since = self.loop.time()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads_read += 1
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        self._reading_since = None
        self._cancel_deadline()

    def _arm_deadline(self, since: float) -> None:
        self._deadline = self.loop.call_at(since + self.limits.read_timeout, self._read_timed_out)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _read_timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.transport.get_protocol() is not self:
            # A WebSocket now lives on; a connection handed to h11 for a method httptools does not know does
            # not: h11 has no read deadline of its own, so a deadline since its request began closes it.
            if isinstance(self.transport.get_protocol(), H11Protocol):
                self.transport.close()
            return
        if self.flow.read_paused:  # intwa stopped reading, not the client: that time does not count
            self._reading_since = self.loop.time()
            self._arm_deadline(self._reading_since)
            return
        self.transport.close()

    def _refuse(self, refusal: Refusal) -> None:
        self._refused = True
        self._cancel_deadline()
        self._unset_keepalive_if_required()
        self.transport.write(refusal.encode(self.server_state.default_headers))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def verify_uvicorn_seams() -> None:
    """Refuses to start when uvicorn's protocol lacks a method that `BoundedHttpToolsProtocol` overrides or calls."""
    missing = [name for name in _SEAMS if not callable(getattr(HttpToolsProtocol, name, None))]
    if missing:
        raise UvicornChanged(f"uvicorn's HttpToolsProtocol has changed (missing: {missing}); see server_protocol.py")


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    """`uvicorn.run`'s arguments besides the app and the log level: what `serve` and the benchmark both run.

    The protocol goes as a `functools.partial` of a module-level class, so that it pickles into every worker
    process with the limits it carries.
    """
    verify_uvicorn_seams()
    return {
        "host": server.host,
        "port": server.port,
        "workers": server.workers,
        "http": functools.partial(BoundedHttpToolsProtocol, limits=ConnectionLimits(server)),
        "loop": "uvloop",
        "lifespan": "on",
        "access_log": False,
        "timeout_keep_alive": server.keep_alive_seconds,
    }
