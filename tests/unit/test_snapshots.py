"""Snapshots: answered within the TTL, refreshed after it, one provider call per shared refresh."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.queries import ListPhoneNumbers, ListWabas
from intwa.domain.snapshots import Snapshots
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.conftest import MAX_STALE_SECONDS, TTL_SECONDS


@pytest.fixture
async def bound(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    """Account IW0001 with WABA_ID's PHONE_ID bound."""
    await accounts.create("IW0001")
    await bind("IW0001", WABA_ID, PHONE_ID)


async def test_phone_info_within_the_ttl_reads_the_snapshot_only(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    calls = sum(provider.calls.values())
    clock.advance(TTL_SECONDS - 1)

    phones = await ListPhoneNumbers(storage, snapshots)("IW0001", WABA_ID)

    assert phones[0].quality_rating == "GREEN"
    assert sum(provider.calls.values()) == calls


async def test_an_expired_snapshot_is_refreshed_before_answering(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    clock.advance(TTL_SECONDS + 1)

    phones = await ListPhoneNumbers(storage, snapshots)("IW0001", WABA_ID)

    assert phones[0].quality_rating == "RED"
    stored = await storage.get_snapshot(WABA_ID)
    assert stored is not None
    assert stored.fetched_at == clock.now()


async def test_fifty_concurrent_requests_for_an_expired_waba_share_one_provider_call(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    provider.latency_seconds = 0.01
    before = provider.calls.copy()
    clock.advance(TTL_SECONDS + 1)
    phone_info = ListPhoneNumbers(storage, snapshots)

    answers = await asyncio.gather(*(phone_info("IW0001", WABA_ID) for _ in range(50)))

    assert len({tuple(answer) for answer in answers}) == 1
    assert provider.calls["fetch_waba"] - before["fetch_waba"] == 1
    assert provider.calls["fetch_phone_numbers"] - before["fetch_phone_numbers"] == 1


async def test_waba_info_refreshes_on_request_when_asked(
    bound: None,
    bind: BindPhoneNumber,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
) -> None:
    await bind("IW0001", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")

    cached = await ListWabas(storage, snapshots)("IW0001")
    refreshed = await ListWabas(storage, snapshots)("IW0001", refresh=True)

    assert [item.waba.name for item in cached] == ["PT TIG TECH", "PT TIG CODE"]
    assert [item.waba.name for item in refreshed] == ["PT TIG TECH GLOBAL", "PT TIG CODE"]


# several instances on one store: each has its own `Snapshots`, the store's refresh lock is shared


async def test_two_instances_refreshing_an_expired_waba_at_once_make_one_provider_call(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    other_instance = Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)
    provider.latency_seconds = 0.01
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    before = provider.calls.copy()
    clock.advance(TTL_SECONDS + 1)

    answers = await asyncio.gather(
        *(ListPhoneNumbers(storage, instance)("IW0001", WABA_ID) for instance in (snapshots, other_instance) * 20)
    )

    assert {answer[0].quality_rating for answer in answers} == {"RED"}
    assert provider.calls["fetch_waba"] - before["fetch_waba"] == 1
    assert provider.calls["fetch_phone_numbers"] - before["fetch_phone_numbers"] == 1
    assert [change.new for change in await storage.list_history(WABA_ID)] == ["RED"]


async def test_a_refresh_that_waited_for_another_instance_takes_the_snapshot_it_stored(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    clock.advance(TTL_SECONDS + 1)
    before = sum(provider.calls.values())

    async with storage.lock_refresh(WABA_ID) as stored:  # another instance is refreshing
        assert stored is not None
        waiting = asyncio.create_task(snapshots.current(WABA_ID))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        theirs = msgspec.structs.replace(stored, fetched_at=clock.now())
        await storage.save_snapshot(theirs, "request")

    assert await waiting == theirs
    assert sum(provider.calls.values()) == before


async def test_a_forced_refresh_that_waited_asks_meta_unless_the_other_fetched_after_it_was_asked(
    bound: None,
    storage: InMemoryStorage,
    snapshots: Snapshots,
    provider: FakeProvider,
    clock: FakeClock,
) -> None:
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")

    async with storage.lock_refresh(WABA_ID) as stored:  # fetched when the refresh was asked for: not newer
        assert stored is not None
        forced = asyncio.create_task(snapshots.current(WABA_ID, refresh=True))
        await asyncio.sleep(0.01)
    assert (await forced).waba.name == "PT TIG TECH GLOBAL"

    calls = sum(provider.calls.values())
    async with storage.lock_refresh(WABA_ID) as stored:
        assert stored is not None
        forced = asyncio.create_task(snapshots.current(WABA_ID, refresh=True))
        await asyncio.sleep(0.01)
        clock.advance(1)
        theirs = msgspec.structs.replace(stored, fetched_at=clock.now())  # fetched after it was asked for
        await storage.save_snapshot(theirs, "request")
    assert await forced == theirs
    assert sum(provider.calls.values()) == calls
