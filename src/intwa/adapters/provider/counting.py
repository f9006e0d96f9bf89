"""A provider decorator that counts calls by outcome, so operators see how often Meta is asked and how it answers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable
from typing import TypeVar

from intwa.domain.errors import (
    ProviderCredentialsRejected,
    ProviderRateLimited,
    ProviderUnavailable,
    WabaNotAccessible,
)
from intwa.domain.models import PhoneNumber, Waba, WabaUsage
from intwa.domain.ports import MetaProvider

T = TypeVar("T")

CALLS = ("fetch_waba", "fetch_phone_numbers", "subscribe_app")
OUTCOMES = ("ok", "not_accessible", "credentials_rejected", "rate_limited", "unavailable", "error")


def outcome_of(error: Exception) -> str:
    """The outcome label of a failed call: the kind of domain error the provider raised, else `error`."""
    if isinstance(error, WabaNotAccessible):
        return "not_accessible"
    if isinstance(error, ProviderCredentialsRejected):
        return "credentials_rejected"
    if isinstance(error, ProviderRateLimited):
        return "rate_limited"
    if isinstance(error, ProviderUnavailable):
        return "unavailable"
    return "error"


class CountingProvider:
    """`MetaProvider` that passes every call to another one and counts it in `calls` by (call, outcome).

    A call is one call of the port: the Graph adapter's retries happen inside it. `usage` asks Meta
    nothing and is not counted. A plain counter costs nothing on the hot path; `GET /metrics` reads it.
    """

    def __init__(self, provider: MetaProvider) -> None:
        self._provider = provider
        self.calls: Counter[tuple[str, str]] = Counter()

    def __repr__(self) -> str:
        return f"CountingProvider({self._provider!r})"

    async def fetch_waba(self, waba_id: str) -> Waba:
        return await self._count("fetch_waba", self._provider.fetch_waba(waba_id))

    async def fetch_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        return await self._count("fetch_phone_numbers", self._provider.fetch_phone_numbers(waba_id))

    async def subscribe_app(self, waba_id: str) -> None:
        await self._count("subscribe_app", self._provider.subscribe_app(waba_id))

    def usage(self, waba_id: str) -> WabaUsage | None:
        return self._provider.usage(waba_id)

    async def _count(self, call: str, answer: Awaitable[T]) -> T:
        try:
            result = await answer
        except Exception as error:  # counted and raised as it came; a cancellation is not a call's outcome
            self.calls[call, outcome_of(error)] += 1
            raise
        self.calls[call, "ok"] += 1
        return result
