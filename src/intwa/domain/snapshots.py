"""Keeping WABA snapshots fresh without calling Meta more than needed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from intwa.domain.models import WabaSnapshot
from intwa.domain.ports import Clock, MetaProvider, Storage


class Snapshots:
    """Read a WABA's snapshot, refreshing it from the provider when it is older than the TTL.

    Concurrent readers that need the same refresh share one provider call.
    """

    def __init__(self, storage: Storage, provider: MetaProvider, clock: Clock, ttl_seconds: float) -> None:
        self._storage = storage
        self._provider = provider
        self._clock = clock
        self._ttl = timedelta(seconds=ttl_seconds)
        self._refreshing: dict[str, asyncio.Future[WabaSnapshot]] = {}

    async def get(self, waba_id: str, *, refresh: bool = False) -> WabaSnapshot:
        """The WABA's snapshot, younger than the TTL unless the provider fails."""
        if not refresh:
            snapshot = await self._storage.get_snapshot(waba_id)
            if snapshot is not None and self._clock.now() - snapshot.fetched_at < self._ttl:
                return snapshot
        return await self.refresh(waba_id)

    async def refresh(self, waba_id: str) -> WabaSnapshot:
        """Fetch the WABA from the provider and store it; joins a refresh already under way."""
        pending = self._refreshing.get(waba_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[WabaSnapshot] = asyncio.get_running_loop().create_future()
        self._refreshing[waba_id] = future
        try:
            snapshot = await self.fetch(waba_id)
            await self._storage.save_snapshot(snapshot)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so a refresh nobody joined logs no warning
            raise
        else:
            future.set_result(snapshot)
            return snapshot
        finally:
            del self._refreshing[waba_id]

    async def fetch(self, waba_id: str) -> WabaSnapshot:
        """A new snapshot straight from the provider, not stored."""
        waba, phone_numbers = await asyncio.gather(
            self._provider.fetch_waba(waba_id), self._provider.fetch_phone_numbers(waba_id)
        )
        return WabaSnapshot(waba=waba, phone_numbers=tuple(phone_numbers), fetched_at=self._clock.now())
