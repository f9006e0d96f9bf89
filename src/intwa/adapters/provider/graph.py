"""The Graph API adapter: WABAs and phone numbers from Meta over one shared `httpx.AsyncClient` (SPEC §6).

httpx exceptions and Graph error payloads become domain errors here; nothing above sees httpx.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import quote

import httpx
import msgspec

from intwa.adapters.provider.graph_errors import graph_error
from intwa.adapters.provider.graph_nodes import PHONE_NUMBER_FIELDS, WABA_FIELDS, GraphPhoneNumber, GraphWaba
from intwa.adapters.provider.graph_usage import parse_business_use_case_usage, retry_after_seconds
from intwa.domain.errors import DomainError, ProviderError, ProviderRateLimited, ProviderUnavailable
from intwa.domain.models import PhoneNumber, Waba, WabaUsage
from intwa.settings import GraphSettings

logger = logging.getLogger(__name__)

BASE_BACKOFF_SECONDS = 0.5
MAX_RETRY_WAIT_SECONDS = 30.0
"""The longest single wait before a retry. When Meta asks for longer, intwa gives up at once and passes
Meta's wait on as `retry_after_seconds`: a caller is waiting on the other end."""
PHONE_NUMBERS_PAGE_LIMIT = 100
MAX_PAGES = 50

_Payload = TypeVar("_Payload")
_Outcome = bytes | tuple[DomainError, float | None]


class _Paging(msgspec.Struct, frozen=True):
    next: str | None = None


class _PhoneNumbersPage(msgspec.Struct, frozen=True):
    data: list[GraphPhoneNumber] = msgspec.field(default_factory=list)
    paging: _Paging | None = None


class _Success(msgspec.Struct, frozen=True):
    success: bool = False


async def open_graph_client(
    settings: GraphSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The one HTTP client for the Graph API, closed when the container shuts down.

    `transport` lets tests put a fake Graph behind the real client configuration.
    """
    async with httpx.AsyncClient(
        base_url=f"{settings.base_url.rstrip('/')}/{settings.api_version}",
        headers={"Authorization": f"Bearer {settings.access_token.reveal()}", "Accept": "application/json"},
        timeout=settings.timeout_seconds,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0),
        transport=transport,
    ) as client:
        yield client


def _utc_now() -> datetime:
    return datetime.now(UTC)


class GraphProvider:
    """`MetaProvider` over Meta's Graph API.

    Rate-limited and unavailable calls are retried up to `max_retries` times with exponential backoff and
    jitter, honouring `Retry-After` and `X-Business-Use-Case-Usage`. The usage Meta reports is kept per
    WABA (`usage`) so that background work can pace itself.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: GraphSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], datetime] = _utc_now,
        max_wait_seconds: float = MAX_RETRY_WAIT_SECONDS,
    ) -> None:
        self._client = client
        self._token = settings.access_token
        self._timeout_seconds = settings.timeout_seconds
        self._max_retries = max(0, settings.max_retries)
        self._sleep = sleep
        self._jitter = jitter
        self._now = now
        self._max_wait_seconds = max_wait_seconds
        self._usage: dict[str, WabaUsage] = {}

    def __repr__(self) -> str:
        return f"GraphProvider(base_url={str(self._client.base_url)!r}, max_retries={self._max_retries})"

    def usage(self, waba_id: str) -> WabaUsage | None:
        """The WABA's rate-limit usage from Meta's latest `X-Business-Use-Case-Usage` header, if any."""
        return self._usage.get(waba_id)

    async def fetch_waba(self, waba_id: str) -> Waba:
        params = {"fields": ",".join(WABA_FIELDS)}
        content = await self._call("GET", f"/{_segment(waba_id)}", waba_id, params)
        return _decode(content, GraphWaba, f"WABA `{waba_id}`").to_domain()

    async def fetch_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        url: str | httpx.URL = f"/{_segment(waba_id)}/phone_numbers"
        params: Mapping[str, str | int] | None = {
            "fields": ",".join(PHONE_NUMBER_FIELDS),
            "limit": PHONE_NUMBERS_PAGE_LIMIT,
        }
        phones: list[PhoneNumber] = []
        followed: set[str] = set()
        while True:
            content = await self._call("GET", url, waba_id, params)
            page = _decode(content, _PhoneNumbersPage, f"phone numbers page of WABA `{waba_id}`")
            phones.extend(phone.to_domain() for phone in page.data)
            if page.paging is None or not page.paging.next:
                return phones
            url, params = self._next_page_url(page.paging.next, waba_id, followed), None

    async def subscribe_app(self, waba_id: str) -> None:
        content = await self._call("POST", f"/{_segment(waba_id)}/subscribed_apps", waba_id)
        if not _decode(content, _Success, f"subscription to WABA `{waba_id}`").success:
            raise ProviderError(f"Meta did not confirm the subscription to WABA `{waba_id}`")

    def _next_page_url(self, next_url: str, waba_id: str, followed: set[str]) -> httpx.URL:
        """Meta's `paging.next`, checked: same origin (the client sends the token), no loop, no token."""
        try:
            url = httpx.URL(next_url).copy_remove_param("access_token")
        except httpx.InvalidURL:
            raise ProviderError(f"Graph paging of WABA `{waba_id}` gave an invalid next page URL") from None
        base = self._client.base_url
        if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
            raise ProviderError(f"Graph paging of WABA `{waba_id}` points away from the Graph API")
        if str(url) in followed or len(followed) + 1 >= MAX_PAGES:
            raise ProviderError(f"Graph paging of WABA `{waba_id}` does not end")
        followed.add(str(url))
        return url

    async def _call(
        self, method: str, url: str | httpx.URL, waba_id: str, params: Mapping[str, str | int] | None = None
    ) -> bytes:
        """The body of a successful answer; retries what may pass, raises the rest as domain errors."""
        attempt = 0
        while True:
            outcome = await self._attempt(method, url, waba_id, params)
            if isinstance(outcome, bytes):
                return outcome
            error, requested_wait = outcome
            error = self._without_token(error)
            if not isinstance(error, ProviderUnavailable):
                raise error
            if requested_wait is not None and requested_wait > self._max_wait_seconds:
                error.retry_after_seconds = math.ceil(requested_wait)
                raise error
            wait = self._backoff(attempt, requested_wait)
            if attempt >= self._max_retries:
                # Without Meta's word, a rate limit keeps the error's minute: Meta's windows are not seconds.
                if requested_wait is not None or not isinstance(error, ProviderRateLimited):
                    error.retry_after_seconds = max(1, math.ceil(wait))
                raise error
            attempt += 1
            logger.info(
                "Graph %s %s: %s; retry %d of %d in %.2f s",
                method,
                self._path(url),
                error,
                attempt,
                self._max_retries,
                wait,
            )
            await self._sleep(wait)

    def _backoff(self, attempt: int, requested_wait: float | None) -> float:
        backoff = BASE_BACKOFF_SECONDS * 2.0**attempt * (1 + self._jitter())
        return min(max(backoff, requested_wait or 0.0), self._max_wait_seconds)

    async def _attempt(
        self, method: str, url: str | httpx.URL, waba_id: str, params: Mapping[str, str | int] | None
    ) -> _Outcome:
        """One request: the body on success, else the domain error and the wait Meta asked for, if any."""
        try:
            response = await self._client.request(method, url, params=params)
        except httpx.TimeoutException:
            logger.debug("Graph %s %s timed out", method, self._path(url))
            return ProviderUnavailable(f"Graph API did not answer within {self._timeout_seconds:g} s"), None
        except httpx.TransportError as error:
            logger.debug("Graph %s %s failed: %s", method, self._path(url), type(error).__name__)
            return ProviderUnavailable(f"Graph API cannot be reached ({type(error).__name__})"), None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            return ProviderError(f"Graph API call failed ({type(error).__name__})"), None
        logger.debug("Graph %s %s -> %d", method, response.url.path, response.status_code)
        regain_wait = self._remember_usage(response.headers.get("x-business-use-case-usage"))
        if response.is_success:
            return response.content
        hints = [wait for wait in (retry_after_seconds(response.headers.get("retry-after")), regain_wait) if wait]
        return graph_error(response.status_code, response.content, waba_id), max(hints, default=None)

    def _remember_usage(self, header: str | None) -> float | None:
        """Keep the usage Meta reports; the seconds until the most throttled id regains access, if any."""
        if not header:
            return None
        now = self._now()
        usage = parse_business_use_case_usage(header, now)
        self._usage.update(usage)
        waits = [(u.regain_access_at - now).total_seconds() for u in usage.values() if u.regain_access_at]
        return max(waits, default=None)

    def _path(self, url: str | httpx.URL) -> str:
        """The path of a request, for logs: never its query, never its headers."""
        return url.path if isinstance(url, httpx.URL) else self._client.base_url.path.rstrip("/") + url

    def _without_token(self, error: DomainError) -> DomainError:
        token = self._token.reveal()
        if token and token in error.message:
            error.message = error.message.replace(token, "***")
            error.args = (error.message,)
        return error


def _decode(content: bytes, payload_type: type[_Payload], what: str) -> _Payload:
    try:
        return msgspec.json.decode(content, type=payload_type)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ProviderError(f"Graph API answered an unexpected {what}: {error}") from None


def _segment(waba_id: str) -> str:
    """The id as one URL path segment, so that no id can reach another Graph path."""
    return quote(waba_id, safe="")
