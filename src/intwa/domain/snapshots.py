"""Keeping WABA snapshots fresh without calling Meta more than needed (SPEC §3.7)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timedelta
from functools import partial
from typing import TypeGuard

import msgspec

from intwa.domain.errors import ProviderError, ProviderUnavailable, StorageUnavailable, WabaNotAccessible
from intwa.domain.models import UNKNOWN, Change, ChangeSource, Waba, WabaSnapshot
from intwa.domain.ports import Clock, MetaProvider, Storage
from intwa.domain.shared_tasks import SharedTasks

logger = logging.getLogger("intwa.snapshots")

THROTTLED_PERCENTAGE = 90.0
"""At this share of Meta's rate limit a WABA's refreshes wait until Meta's regain-access time."""

FAILED_REFRESH_PAUSE = timedelta(seconds=30)
"""After a failed refresh, requests are answered stale this long before Meta is asked again."""
LONGEST_PAUSE = timedelta(minutes=5)


class Refreshed(msgspec.Struct, frozen=True):
    """A snapshot just fetched and stored, and the changes it brought.

    `not_accessible` is Meta's message when it said the WABA is gone or not shared (the snapshot then says so).
    """

    snapshot: WabaSnapshot
    changes: list[Change]
    not_accessible: str | None = None


class Snapshots:
    """Read a WABA's snapshot, refreshing it from the provider when it is older than the TTL.

    Concurrent readers that need the same refresh share one provider call. A reader with an older
    snapshot it may serve waits for the refresh at most `refresh_wait_seconds` and is then answered from
    that snapshot while the refresh goes on. When Meta is down, rate-limited or rejects the token, or the
    store cannot take the refreshed snapshot (`StorageUnavailable`: a full disk), a snapshot younger than
    `max_stale_seconds` is served instead, and the WABA's refreshes pause a while. When Meta says the WABA
    is gone or no longer shared, the snapshot is stored with `accessible` False (its data as last known)
    and phoneInfo answers `WabaNotAccessible` from it until a refresh finds the WABA again. `hits`,
    `misses` and `stale_hits` count how snapshots were answered: younger than the TTL, after a refresh
    (or with its error), or from an older snapshot while Meta did not answer in time.
    """

    def __init__(
        self,
        storage: Storage,
        provider: MetaProvider,
        clock: Clock,
        *,
        ttl_seconds: float,
        max_stale_seconds: float,
        refresh_wait_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._provider = provider
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        # Per WABA: the `fetched_at` of the snapshot last checked, and when that snapshot stops being fresh.
        self._fresh_until: dict[str, tuple[datetime, float]] = {}
        self._max_stale = timedelta(seconds=max_stale_seconds)
        self._refresh_wait = refresh_wait_seconds
        self._monotonic = monotonic
        self._refreshing: SharedTasks[Refreshed] = SharedTasks("refresh WABA")
        self._refresh_started: dict[str, float] = {}
        self._paused_until: dict[str, datetime] = {}
        self.hits = 0
        self.misses = 0
        self.stale_hits = 0

    async def current(self, waba_id: str, *, refresh: bool = False) -> WabaSnapshot:
        """The WABA's snapshot to answer phoneInfo with: fresh, refreshed first, or stale while Meta can't answer.

        With `refresh`, the provider is asked whatever the snapshot's age, and its errors are raised.
        `WabaNotAccessible` when Meta says the WABA is gone or no longer shared.
        """
        if refresh:
            snapshot = (await self.refresh(waba_id, source="request")).snapshot
        else:
            snapshot = await self.settle(waba_id, await self._storage.get_snapshot(waba_id))
        if not snapshot.accessible:
            raise WabaNotAccessible(f"WABA `{waba_id}` does not exist or is no longer shared with the platform")
        return snapshot

    async def settle(
        self, waba_id: str, snapshot: WabaSnapshot | None, *, gate: asyncio.Semaphore | None = None
    ) -> WabaSnapshot:
        """What to answer with, given the WABA's stored snapshot: it, if fresh; else a refresh's, or it, stale.

        The snapshot may say the WABA is not accessible. A stale snapshot that may still be served is
        answered when the refresh fails because Meta cannot answer, and when it takes longer than the refresh
        wait (the refresh goes on). Without one, the refresh's outcome is awaited and its error raised.
        `gate` bounds how many refreshes a caller starts at once; a refresh under way is joined.
        """
        if self._within_ttl(snapshot, waba_id):
            self.hits += 1
            return snapshot
        now = self._clock.now()
        servable = snapshot if self.servable(snapshot) else None
        if servable is not None and self.refreshes_paused(waba_id, now):
            self.stale_hits += 1
            return servable
        # Another process or instance may have refreshed it meanwhile: younger than the TTL will do.
        refreshing = self._start_refresh(waba_id, "request", now - self._ttl, gate)
        if servable is None:
            self.misses += 1
            return (await asyncio.shield(refreshing)).snapshot
        try:
            async with asyncio.timeout(self._wait_left(waba_id)):
                refreshed = await asyncio.shield(refreshing)
        except TimeoutError:
            self.stale_hits += 1
            logger.info("serving WABA %s from its snapshot of %s: Meta is slow to answer", waba_id, _age(servable))
            return servable
        except (ProviderUnavailable, ProviderError) as error:
            self.stale_hits += 1
            logger.warning(
                "serving WABA %s from its snapshot of %s: refresh failed with %s %s",
                waba_id,
                _age(servable),
                error.code,
                error.message,
            )
            return servable
        except StorageUnavailable:
            # A full disk, say, while reads work: the snapshot read is answered. The outage is logged once, where
            # the store noticed it, not per request.
            self.stale_hits += 1
            return servable
        self.misses += 1
        return refreshed.snapshot

    def fresh(self, snapshot: WabaSnapshot | None, waba_id: str) -> TypeGuard[WabaSnapshot]:
        """Whether the stored snapshot may be answered without asking the provider (counted as a hit)."""
        if not self._within_ttl(snapshot, waba_id):
            return False
        self.hits += 1
        return True

    def servable(self, snapshot: WabaSnapshot | None) -> TypeGuard[WabaSnapshot]:
        """Whether the snapshot may be served stale when Meta cannot answer: younger than `max_stale_seconds`."""
        return snapshot is not None and self._clock.now() - snapshot.fetched_at < self._max_stale

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

    def _wait_left(self, waba_id: str) -> float:
        """How long a reader with a servable snapshot still waits for the WABA's refresh under way.

        Measured from the refresh's start: once a refresh has run the whole wait (Meta is slow, or a lease
        of a crashed process holds it up), the next readers are answered at once.
        """
        started = self._refresh_started.get(waba_id)
        if started is None:
            return self._refresh_wait
        return max(0.0, self._refresh_wait - (self._monotonic() - started))

    def paused_until(self, waba_id: str, now: datetime) -> datetime | None:
        """Until when the WABA's refreshes wait (Meta reported ≥ 90% usage, or a refresh just failed), if they do."""
        until = self._paused_until.get(waba_id)
        usage = self._provider.usage(waba_id)
        if usage is not None and usage.highest_percentage >= THROTTLED_PERCENTAGE and usage.regain_access_at:
            until = max(until, usage.regain_access_at) if until else usage.regain_access_at
        return until if until is not None and now < until else None

    def refreshes_paused(self, waba_id: str, now: datetime) -> bool:
        """Whether refreshes of the WABA should wait: Meta reported ≥ 90% usage, or a refresh just failed."""
        return self.paused_until(waba_id, now) is not None

    async def refresh(
        self,
        waba_id: str,
        *,
        source: ChangeSource,
        fresh_after: datetime | None = None,
        gate: asyncio.Semaphore | None = None,
    ) -> Refreshed:
        """Fetch the WABA from the provider and store it; joins a refresh already under way.

        The provider call runs under the store's refresh lock of the WABA, which every process and
        instance sharing the store takes: when the lock is held, the refresh waits for it and then takes
        the snapshot stored meanwhile, with no changes, if it was fetched after `fresh_after` (by default
        the moment of this call), so concurrent refreshes of one WABA make one provider call in all.
        When Meta says the WABA is gone or no longer shared, the stored snapshot is kept with `accessible`
        False. When Meta cannot answer, the error is raised and the WABA's refreshes pause a while.

        The refresh runs as a task of its own, so a caller that goes away (a client disconnecting,
        the background sync stopping) does not cancel it for the others waiting on it.
        """
        fresh_after = self._clock.now() if fresh_after is None else fresh_after
        return await asyncio.shield(self._start_refresh(waba_id, source, fresh_after, gate))

    async def close(self) -> None:
        """Cancel the refreshes still under way (at shutdown) and wait for them to end."""
        await self._refreshing.cancel_all()

    def _start_refresh(
        self, waba_id: str, source: ChangeSource, fresh_after: datetime, gate: asyncio.Semaphore | None
    ) -> asyncio.Task[Refreshed]:
        if waba_id not in self._refreshing:
            self._refresh_started[waba_id] = self._monotonic()
        return self._refreshing.start(waba_id, partial(self._refresh, waba_id, source, fresh_after, gate))

    async def _refresh(
        self, waba_id: str, source: ChangeSource, fresh_after: datetime, gate: asyncio.Semaphore | None
    ) -> Refreshed:
        try:
            async with gate or nullcontext():
                refreshed = await self._refresh_locked(waba_id, source, fresh_after)
        except (ProviderUnavailable, ProviderError, StorageUnavailable) as error:
            self._pause_after(waba_id, error, self._clock.now())
            raise
        finally:
            if self._refreshing.is_current(waba_id, asyncio.current_task()):
                self._refresh_started.pop(waba_id, None)
        self._paused_until.pop(waba_id, None)
        return refreshed

    async def _refresh_locked(self, waba_id: str, source: ChangeSource, fresh_after: datetime) -> Refreshed:
        async with self._storage.lock_refresh(waba_id) as stored:
            if stored is not None and stored.fetched_at > fresh_after:
                return Refreshed(stored, [])  # another refresher got there while this one waited
            gone = None
            try:
                snapshot = await self.fetch_from_provider(waba_id)
            except WabaNotAccessible as error:
                logger.info("WABA %s is not accessible: %s", waba_id, error.message)
                snapshot, gone = self._not_accessible(waba_id, stored), error.message
            # Stored before the lock is released, so the next holder sees it.
            return Refreshed(snapshot, await self._storage.save_snapshot(snapshot, source), gone)

    def _not_accessible(self, waba_id: str, stored: WabaSnapshot | None) -> WabaSnapshot:
        """The stored snapshot marked not accessible now; with none, a WABA of unknown data."""
        now = self._clock.now()
        if stored is None:
            return WabaSnapshot(waba=Waba(id=waba_id, name=UNKNOWN), phone_numbers=(), fetched_at=now, accessible=False)
        return msgspec.structs.replace(stored, fetched_at=now, accessible=False)

    async def fetch_from_provider(self, waba_id: str) -> WabaSnapshot:
        """A new snapshot straight from the provider, not stored."""
        waba, phone_numbers = await asyncio.gather(
            self._provider.fetch_waba(waba_id), self._provider.fetch_phone_numbers(waba_id)
        )
        return WabaSnapshot(waba=waba, phone_numbers=tuple(phone_numbers), fetched_at=self._clock.now())

    def _pause_after(
        self, waba_id: str, error: ProviderError | ProviderUnavailable | StorageUnavailable, now: datetime
    ) -> None:
        # After a storage failure only for the store's own retry time: Meta is fine, and the refresh may have
        # spent a call of its budget already (the snapshot could not be stored), so not at once either.
        if isinstance(error, StorageUnavailable):
            pause = timedelta(seconds=error.retry_after_seconds)
        elif isinstance(error, ProviderUnavailable):
            pause = max(FAILED_REFRESH_PAUSE, timedelta(seconds=error.retry_after_seconds))
        else:
            pause = FAILED_REFRESH_PAUSE
        self._paused_until[waba_id] = now + min(pause, LONGEST_PAUSE)


def _age(snapshot: WabaSnapshot) -> str:
    return snapshot.fetched_at.isoformat()
