"""Keeping WABA snapshots fresh without calling Meta more than needed (SPEC §3.7)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from functools import partial
from typing import TypeGuard

import msgspec

from intwa.domain.errors import DomainError, ProviderError, ProviderUnavailable
from intwa.domain.models import Change, ChangeSource, WabaSnapshot
from intwa.domain.ports import Clock, MetaProvider, Storage
from intwa.domain.shared_tasks import SharedTasks

logger = logging.getLogger("intwa.snapshots")

THROTTLED_PERCENTAGE = 90.0
"""At this share of Meta's rate limit a WABA's refreshes wait until Meta's regain-access time."""

FAILED_REFRESH_PAUSE = timedelta(seconds=30)
"""After a failed refresh, requests are answered stale this long before Meta is asked again."""
LONGEST_PAUSE = timedelta(minutes=5)


class Refreshed(msgspec.Struct, frozen=True):
    """A snapshot just fetched and stored, and the changes it brought."""

    snapshot: WabaSnapshot
    changes: list[Change]


class Snapshots:
    """Read a WABA's snapshot, refreshing it from the provider when it is older than the TTL.

    Concurrent readers that need the same refresh share one provider call. When Meta is down,
    rate-limited or rejects the token, a snapshot younger than `max_stale_seconds` is served instead;
    when Meta says the WABA is gone, the error is raised. `hits`, `misses` and `stale_hits` count how
    `current` answered: from a snapshot younger than the TTL, after a refresh (or with its error), or from an
    older snapshot while Meta cannot answer.
    """

    def __init__(
        self,
        storage: Storage,
        provider: MetaProvider,
        clock: Clock,
        *,
        ttl_seconds: float,
        max_stale_seconds: float,
    ) -> None:
        self._storage = storage
        self._provider = provider
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        # Per WABA: the `fetched_at` of the snapshot last checked, and when that snapshot stops being fresh.
        self._fresh_until: dict[str, tuple[datetime, float]] = {}
        self._max_stale = timedelta(seconds=max_stale_seconds)
        self._refreshing: SharedTasks[Refreshed] = SharedTasks("refresh WABA")
        self._paused_until: dict[str, datetime] = {}
        self.hits = 0
        self.misses = 0
        self.stale_hits = 0

    async def current(self, waba_id: str, *, refresh: bool = False) -> WabaSnapshot:
        """The WABA's snapshot to answer with: stored and fresh, refreshed first, or stale while Meta can't answer.

        With `refresh`, the provider is asked whatever the snapshot's age, and its errors are raised.
        """
        if refresh:
            return (await self.refresh(waba_id, source="request")).snapshot
        snapshot = await self._storage.get_snapshot(waba_id)
        if self._within_ttl(snapshot, waba_id):
            self.hits += 1
            return snapshot
        now = self._clock.now()
        servable = snapshot if snapshot is not None and now - snapshot.fetched_at < self._max_stale else None
        if servable is not None and self.refreshes_paused(waba_id, now):
            self.stale_hits += 1
            return servable
        try:
            # Another process or instance may have refreshed it meanwhile: younger than the TTL will do.
            refreshed = await self.refresh(waba_id, source="request", fresh_after=now - self._ttl)
        except (ProviderUnavailable, ProviderError) as error:
            if servable is None:
                self.misses += 1
                raise
            self.stale_hits += 1
            self._pause_after(waba_id, error, now)
            logger.warning(
                "serving WABA %s from its snapshot of %s: refresh failed with %s %s",
                waba_id,
                servable.fetched_at.isoformat(),
                error.code,
                error.message,
            )
            return servable
        except DomainError:
            self.misses += 1  # Meta says the WABA is gone: answered with the error
            raise
        self.misses += 1
        return refreshed.snapshot

    async def stored_if_fresh(self, waba_id: str) -> WabaSnapshot | None:
        """The WABA's snapshot if it is younger than the TTL, else None; never asks the provider."""
        snapshot = await self._storage.get_snapshot(waba_id)
        if not self._within_ttl(snapshot, waba_id):
            return None
        self.hits += 1
        return snapshot

    def _within_ttl(self, snapshot: WabaSnapshot | None, waba_id: str) -> TypeGuard[WabaSnapshot]:
        """Whether the snapshot is younger than the TTL.

        Every cached read asks this, so the moment a snapshot turns stale is worked out once per snapshot
        and compared with the clock's `timestamp()`: cheaper than datetime arithmetic on each request.
        """
        if snapshot is None:
            return False
        known = self._fresh_until.get(waba_id)
        if known is None or known[0] != snapshot.fetched_at:
            known = self._fresh_until[waba_id] = (snapshot.fetched_at, (snapshot.fetched_at + self._ttl).timestamp())
        return self._clock.timestamp() < known[1]

    def refreshes_paused(self, waba_id: str, now: datetime) -> bool:
        """Whether refreshes of the WABA should wait: Meta reported ≥ 90% usage, or a refresh just failed."""
        until = self._paused_until.get(waba_id)
        usage = self._provider.usage(waba_id)
        if usage is not None and usage.highest_percentage >= THROTTLED_PERCENTAGE and usage.regain_access_at:
            until = max(until, usage.regain_access_at) if until else usage.regain_access_at
        return until is not None and now < until

    async def refresh(self, waba_id: str, *, source: ChangeSource, fresh_after: datetime | None = None) -> Refreshed:
        """Fetch the WABA from the provider and store it; joins a refresh already under way.

        The provider call runs under the store's refresh lock of the WABA, which every process and
        instance sharing the store takes: when the lock is held, the refresh waits for it and then takes
        the snapshot stored meanwhile, with no changes, if it was fetched after `fresh_after` (by default
        the moment of this call), so concurrent refreshes of one WABA make one provider call in all.

        The refresh runs as a task of its own, so a caller that goes away (a client disconnecting,
        the background sync stopping) does not cancel it for the others waiting on it.
        """
        fresh_after = self._clock.now() if fresh_after is None else fresh_after
        return await self._refreshing.join(waba_id, partial(self._refresh, waba_id, source, fresh_after))

    async def close(self) -> None:
        """Cancel the refreshes still under way (at shutdown) and wait for them to end."""
        await self._refreshing.cancel_all()

    async def _refresh(self, waba_id: str, source: ChangeSource, fresh_after: datetime) -> Refreshed:
        async with self._storage.lock_refresh(waba_id) as stored:
            if stored is not None and stored.fetched_at > fresh_after:
                refreshed = Refreshed(stored, [])  # another refresher got there while this one waited
            else:
                snapshot = await self.fetch_from_provider(waba_id)
                # Stored before the lock is released, so the next holder sees it.
                refreshed = Refreshed(snapshot, await self._storage.save_snapshot(snapshot, source))
        self._paused_until.pop(waba_id, None)
        return refreshed

    async def fetch_from_provider(self, waba_id: str) -> WabaSnapshot:
        """A new snapshot straight from the provider, not stored."""
        waba, phone_numbers = await asyncio.gather(
            self._provider.fetch_waba(waba_id), self._provider.fetch_phone_numbers(waba_id)
        )
        return WabaSnapshot(waba=waba, phone_numbers=tuple(phone_numbers), fetched_at=self._clock.now())

    def _pause_after(self, waba_id: str, error: ProviderError | ProviderUnavailable, now: datetime) -> None:
        pause = FAILED_REFRESH_PAUSE
        if isinstance(error, ProviderUnavailable):
            pause = max(pause, timedelta(seconds=error.retry_after_seconds))
        self._paused_until[waba_id] = now + min(pause, LONGEST_PAUSE)
