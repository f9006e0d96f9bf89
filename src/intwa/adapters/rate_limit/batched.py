"""Counting hits in batches: what the SQL rate limiters share."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import datetime

from intwa.adapters.storage.outage import StorageOutage
from intwa.domain.errors import StorageUnavailable
from intwa.domain.rate_limits import seconds_until_next_window, window_start

logger = logging.getLogger("intwa.rate_limit")

CounterKey = tuple[str, int]
"""An account name and the epoch second its window starts."""


class BatchedRateLimiter(ABC):
    """The `RateLimiter` port over a shared counter table that a subclass writes with atomic upserts.

    Hits that arrive while this process's counter write runs wait for the next one, which adds them all
    in one statement (`count = count + n`, each hit getting its own place in `count - n + 1 … count`):
    under load a request costs a share of one write instead of a round trip of its own. Every hit of
    every process is counted exactly once.

    A counter that cannot be written lets its requests through: the limit protects the service, it must
    not stop it. The subclass raises `StorageUnavailable` for that, with `outage` (or its store's own)
    noting it, which logs once when counting stops and once when it works again.
    """

    def __init__(self) -> None:
        self._waiting: dict[CounterKey, list[asyncio.Future[int | None]]] = {}
        self._writer: asyncio.Task[None] | None = None
        self._current_window: int | None = None
        self.outage = StorageOutage(
            "request counting", effect="requests are let through uncounted until it works again", log=logger
        )

    async def hit(self, account_name: str, limit_per_minute: int, now: datetime) -> float | None:
        key = (account_name, window_start(now))
        counted: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(counted)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting())
        count = await counted
        if count is None or count <= limit_per_minute:
            return None
        return seconds_until_next_window(now)

    async def close(self) -> None:
        """Wait for the counter write under way, so the connection can close."""
        if self._writer is not None:
            await self._writer

    @abstractmethod
    async def _add(self, hits: dict[CounterKey, int]) -> dict[CounterKey, int]:
        """Add the hits to their counters atomically; the counters' new values.

        `StorageUnavailable` when they cannot be written.
        """

    @abstractmethod
    async def _forget_before(self, window: int) -> None:
        """Delete the counters of windows starting before `window`; `StorageUnavailable` when it cannot."""

    async def _write_waiting(self) -> None:
        """Count the waiting hits in one write, again while more arrive meanwhile, then stop."""
        try:
            while self._waiting:
                waiting, self._waiting = self._waiting, {}
                counts = await self._count({key: len(hits) for key, hits in waiting.items()})
                for key, hits in waiting.items():
                    last = counts.get(key)
                    for place, hit in enumerate(hits, start=1 - len(hits)):
                        if not hit.done():  # its request may have been cancelled
                            hit.set_result(None if last is None else last + place)
        finally:
            self._writer = None

    async def _count(self, hits: dict[CounterKey, int]) -> dict[CounterKey, int]:
        window = max(key[1] for key in hits)
        try:
            counts = await self._add(hits)
            if self._current_window is None or window > self._current_window:
                self._current_window = window
                # The previous window stays: requests still in flight from it may be counted there.
                await self._forget_before(window - 60)
        except StorageUnavailable:
            return {}  # logged once, when counting stopped
        self.outage.answered(wrote=True)
        return counts
