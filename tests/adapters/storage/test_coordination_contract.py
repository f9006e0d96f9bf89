"""What every `Storage` backend promises about refresh locks and background-sync claims (SPEC §3.7)."""

from __future__ import annotations

import asyncio

import pytest

from intwa.domain.models import WabaSnapshot
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, at, bind, create_accounts, snapshot_of

WABA = "278990000057661"
OTHER_WABA = "278990000057662"
PHONE = "267300000093634"
OTHER_PHONE = "267300000093636"

WAIT_SECONDS = 0.1
"""Long enough for a lock that is free to be taken several times over, on every backend."""


async def _bound(storage: Storage) -> None:
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    await bind(storage, "acme", OTHER_WABA, OTHER_PHONE)


class Refresher:
    """Takes a WABA's refresh lock in a task of its own and says when it holds it, and what it read."""

    def __init__(self, storage: Storage, waba_id: str = WABA) -> None:
        self.holds = asyncio.Event()
        self.release = asyncio.Event()
        self.seen: WabaSnapshot | None = None
        self.task = asyncio.create_task(self._hold(storage, waba_id))

    async def _hold(self, storage: Storage, waba_id: str) -> None:
        async with storage.lock_refresh(waba_id) as snapshot:
            self.seen = snapshot
            self.holds.set()
            await self.release.wait()

    async def wait_until_held(self) -> None:
        async with asyncio.timeout(5):
            await self.holds.wait()

    async def end(self) -> None:
        self.release.set()
        async with asyncio.timeout(5):
            await self.task


async def test_a_refresh_lock_yields_the_stored_snapshot_or_none(storage: Storage) -> None:
    await _bound(storage)

    async with storage.lock_refresh(WABA) as snapshot:
        assert snapshot == snapshot_of(WABA, PHONE)
    async with storage.lock_refresh("999990000000001") as nothing:
        assert nothing is None


async def test_a_second_refresher_waits_for_the_first_and_then_sees_what_it_stored(storage: Storage) -> None:
    await _bound(storage)
    first = Refresher(storage)
    await first.wait_until_held()

    second = Refresher(storage)
    await asyncio.sleep(WAIT_SECONDS)
    assert not second.holds.is_set()
    newer = snapshot_of(WABA, PHONE, name="PT TIG TECH (renamed)", fetched_at=at(60))
    await storage.save_snapshot(newer, "request")
    await first.end()

    await second.wait_until_held()
    assert first.seen == snapshot_of(WABA, PHONE)
    assert second.seen == newer
    await second.end()


async def test_a_refresh_lock_is_released_when_its_block_fails(storage: Storage) -> None:
    await _bound(storage)

    with pytest.raises(RuntimeError, match="the provider call failed"):
        async with storage.lock_refresh(WABA):
            raise RuntimeError("the provider call failed")

    next_one = Refresher(storage)
    await next_one.wait_until_held()
    await next_one.end()


async def test_a_refresh_lock_is_released_when_its_holder_is_cancelled(storage: Storage) -> None:
    await _bound(storage)
    cancelled = Refresher(storage)
    await cancelled.wait_until_held()

    cancelled.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled.task

    next_one = Refresher(storage)
    await next_one.wait_until_held()
    await next_one.end()


async def test_a_refresher_cancelled_while_waiting_leaves_the_lock_to_the_next_one(storage: Storage) -> None:
    await _bound(storage)
    first = Refresher(storage)
    await first.wait_until_held()
    gave_up = Refresher(storage)
    await asyncio.sleep(WAIT_SECONDS)

    gave_up.task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up.task
    await first.end()

    next_one = Refresher(storage)
    await next_one.wait_until_held()
    assert not gave_up.holds.is_set()
    await next_one.end()


async def test_the_refresh_lock_of_one_waba_does_not_hold_up_another(storage: Storage) -> None:
    await _bound(storage)
    first = Refresher(storage, WABA)
    await first.wait_until_held()

    other = Refresher(storage, OTHER_WABA)
    await other.wait_until_held()

    assert other.seen == snapshot_of(OTHER_WABA, OTHER_PHONE)
    await other.end()
    await first.end()


async def test_a_sync_claim_is_exclusive_until_it_expires_and_renewable_by_its_holder(storage: Storage) -> None:
    assert await storage.claim_for_sync(WABA, "instance-a", until=at(60), now=T0)

    assert not await storage.claim_for_sync(WABA, "instance-b", until=at(90), now=at(30))
    assert not await storage.claim_for_sync(WABA, "instance-b", until=at(120), now=at(60))  # at its very end
    assert await storage.claim_for_sync(WABA, "instance-a", until=at(150), now=at(59))  # renewed by its holder
    assert not await storage.claim_for_sync(WABA, "instance-b", until=at(180), now=at(120))

    assert await storage.claim_for_sync(WABA, "instance-b", until=at(300), now=at(151))  # expired: taken over
    assert not await storage.claim_for_sync(WABA, "instance-a", until=at(360), now=at(200))


async def test_sync_claims_of_different_wabas_are_independent(storage: Storage) -> None:
    assert await storage.claim_for_sync(WABA, "instance-a", until=at(60), now=T0)

    assert await storage.claim_for_sync(OTHER_WABA, "instance-b", until=at(60), now=T0)
    assert not await storage.claim_for_sync(OTHER_WABA, "instance-a", until=at(60), now=at(1))
