"""The `CallbackSender` port over HTTP: one signed POST per attempt, its outcome a value, never an exception.

Each attempt resolves the URL's host and checks every address before anything is sent (the set-time check
may be stale), then POSTs through a connection pool whose connections go only to checked addresses
(`network.py`). Redirects are answers like any other (httpcore follows none). Nothing here logs: an
attempt's outcome is for the caller to record, and neither the secret nor the body ever leaves this module
but in the request.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpcore
import httpx

from intwa import __version__
from intwa.adapters.callbacks.network import CheckedNetworkBackend, HostNotResolved, allowed_addresses
from intwa.adapters.callbacks.resolver import HostResolver
from intwa.domain.callbacks.models import RETRY_AFTER_CAP_SECONDS, DeliveryOutcome
from intwa.domain.callbacks.signing import WebhookSecret, webhook_headers
from intwa.domain.callbacks.targets import CallbackUrlRules, not_public
from intwa.domain.errors import CallbackUrlNotAllowed, InvalidField
from intwa.domain.ports import Clock

USER_AGENT = f"intwa/{__version__}"
MAX_CONNECTIONS = 100
"""Connections open at once, over every callback URL; the dispatcher bounds each URL to `events.max_in_flight`."""
KEEPALIVE_SECONDS = 30.0
MAX_ANSWER_BYTES = 65536
"""How much of a receiver's answer body is read (and dropped); a longer one costs its connection, not memory."""

_ERRNO_WORDS = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


class HttpCallbackSender:
    """Delivers signed events over HTTP(S), within `timeout_seconds` an attempt, to allowed addresses only."""

    def __init__(
        self,
        pool: httpcore.AsyncConnectionPool,
        rules: CallbackUrlRules,
        resolver: HostResolver,
        clock: Clock,
        *,
        timeout_seconds: float,
    ) -> None:
        self._pool = pool
        self._rules = rules
        self._resolver = resolver
        self._clock = clock
        self._timeout = timeout_seconds

    async def check_target(self, url: str) -> None:
        """Raise `CallbackUrlNotAllowed` unless the URL passes the rules and its host resolves, now, to allowed
        addresses only; a host that does not resolve (in `timeout_seconds`) is refused the same way."""
        self._rules.check_url(url)
        host, port = _host_and_port(_parsed(url))
        try:
            async with asyncio.timeout(self._timeout):
                await allowed_addresses(self._rules, self._resolver, host, port)
        except (HostNotResolved, TimeoutError):
            raise not_public(host) from None

    async def send(
        self, url: str, event_id: str, body: bytes, signing_secrets: Sequence[WebhookSecret]
    ) -> DeliveryOutcome:
        """POST `body` to `url`, signed with `signing_secrets` at this attempt's time; how it went."""
        try:
            self._rules.check_url(url)
            parsed = _parsed(url)
        except (CallbackUrlNotAllowed, InvalidField) as refused:
            return DeliveryOutcome("refused", error=refused.message)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **webhook_headers(event_id, int(self._clock.timestamp()), body, signing_secrets),
        }
        request = httpx.Request("POST", parsed, headers=headers, content=body)
        try:
            async with asyncio.timeout(self._timeout):
                return await self._attempt(request, body)
        except CallbackUrlNotAllowed as refused:
            return DeliveryOutcome("refused", error=refused.message)
        except HostNotResolved as unresolved:
            return DeliveryOutcome("retry", error=str(unresolved))
        except (TimeoutError, httpcore.TimeoutException):
            return DeliveryOutcome("retry", error=f"no answer within {self._timeout:g} s")
        except httpcore.ConnectError as error:
            return DeliveryOutcome("retry", error=_connect_failure(error))
        except (httpcore.NetworkError, httpcore.ProtocolError):
            return DeliveryOutcome("retry", error="the connection broke before the receiver answered")

    async def _attempt(self, request: httpx.Request, body: bytes) -> DeliveryOutcome:
        url = request.url
        host, port = _host_and_port(url)
        # Checked before anything is sent; a connection made now (`CheckedNetworkBackend`) is checked again.
        await allowed_addresses(self._rules, self._resolver, host, port)
        target = httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)
        timeouts = {"connect": self._timeout, "read": self._timeout, "write": self._timeout, "pool": self._timeout}
        async with self._pool.stream(
            "POST", target, headers=request.headers.raw, content=body, extensions={"timeout": timeouts}
        ) as response:
            read = 0
            async for chunk in response.aiter_stream():
                read += len(chunk)
                if read > MAX_ANSWER_BYTES:
                    break
        return outcome_of(response.status, response.headers, self._clock.now())


def outcome_of(status: int, headers: Sequence[tuple[bytes, bytes]], now: datetime) -> DeliveryOutcome:
    """What a receiver's answer means (Standard Webhooks): 2xx delivered, 410 gone, anything else retried."""
    if 200 <= status < 300:
        return DeliveryOutcome("delivered", status=status)
    if status == 410:
        return DeliveryOutcome("gone", status=status, error="the receiver answered 410 Gone")
    if 300 <= status < 400:
        return DeliveryOutcome(
            "retry", status=status, error=f"the receiver answered {status}: redirects are not followed"
        )
    retry_after = None
    if status in (429, 503):
        value = next((value for name, value in headers if name.lower() == b"retry-after"), None)
        retry_after = None if value is None else retry_after_seconds(value.decode("latin-1"), now)
    return DeliveryOutcome(
        "retry", status=status, error=f"the receiver answered {status}", retry_after_seconds=retry_after
    )


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delay-seconds or an HTTP date, at most `RETRY_AFTER_CAP_SECONDS`.

    None when it is neither; a date in the past is 0.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():
        return min(float(text), RETRY_AFTER_CAP_SECONDS) if len(text) <= 12 else RETRY_AFTER_CAP_SECONDS
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, by RFC 5322
        when = when.replace(tzinfo=UTC)
    return min(max((when - now).total_seconds(), 0.0), RETRY_AFTER_CAP_SECONDS)


def _parsed(url: str) -> httpx.URL:
    """The URL as httpx reads it (the rules read it with the standard library); refused if httpx cannot."""
    try:
        return httpx.URL(url)
    except httpx.InvalidURL:
        raise CallbackUrlNotAllowed("`url` is not allowed: it is not a URL that can be called") from None


def _host_and_port(url: httpx.URL) -> tuple[str, int]:
    """The host as connections resolve it (IDNA-encoded, no brackets) and the port, the scheme's by default."""
    return url.raw_host.decode("ascii"), url.port or (443 if url.scheme == "https" else 80)


def _connect_failure(error: httpcore.ConnectError) -> str:
    """Why a connection failed, in a few words: the network's reason, or TLS's."""
    for cause in _causes(error):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return "TLS handshake failed"
        if isinstance(cause, OSError) and cause.errno in _ERRNO_WORDS:
            return _ERRNO_WORDS[cause.errno]
    return "cannot connect"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The errors behind `error`, nearest first: httpcore and anyio wrap the network's own (a few levels deep)."""
    seen: set[int] = set()
    cause: BaseException | None = error.__cause__ or error.__context__
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        yield cause
        cause = cause.__cause__ or cause.__context__


async def open_callback_sender(
    rules: CallbackUrlRules,
    resolver: HostResolver,
    clock: Clock,
    *,
    timeout_seconds: float,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[HttpCallbackSender]:
    """A sender with its connection pool for as long as the generator runs; a `providers.Resource`.

    `ssl_context` None verifies certificates against the CA bundle httpx uses (certifi).
    """
    pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context or httpx.create_ssl_context(),
        max_connections=MAX_CONNECTIONS,
        max_keepalive_connections=MAX_CONNECTIONS,
        keepalive_expiry=KEEPALIVE_SECONDS,
        network_backend=CheckedNetworkBackend(rules, resolver),
    )
    try:
        yield HttpCallbackSender(pool, rules, resolver, clock, timeout_seconds=timeout_seconds)
    finally:
        await pool.aclose()
