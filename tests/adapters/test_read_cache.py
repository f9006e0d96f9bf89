"""The one-second memory layer over storage (SPEC §3.7)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from intwa.adapters.storage.read_cache import MAX_ENTRIES, ReadCachingStorage
from intwa.domain.errors import StorageUnavailable
from intwa.domain.models import Binding, PhoneNumber, Waba, WabaSnapshot
from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.storage import InMemoryStorage, StorageWithOutage

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
_: type[Storage] = ReadCachingStorage


class CountingStorage(InMemoryStorage):
    """The in-memory store, counting the reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    async def find_key_owner(self, key_hash: str) -> Any:
        self.reads["key"] += 1
        return await super().find_key_owner(key_hash)

    async def account_waba_ids(self, account_name: str) -> list[str]:
        self.reads["account wabas"] += 1
        return await super().account_waba_ids(account_name)

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        self.reads["snapshot"] += 1
        return await super().get_snapshot(waba_id)

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        self.reads["account snapshots"] += 1
        return await super().account_snapshots(account_name)


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def inner() -> CountingStorage:
    storage = CountingStorage()
    await storage.migrate()
    await storage.create_account("IW0001", "hash-1", NOW)
    return storage


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def cached(inner: CountingStorage, monotonic: Monotonic) -> ReadCachingStorage:
    return ReadCachingStorage(inner, max_age_seconds=1.0, monotonic=monotonic)


async def test_repeated_key_lookups_within_a_second_read_storage_once(
    cached: ReadCachingStorage, inner: CountingStorage, monotonic: Monotonic
) -> None:
    for _ in range(10):
        account = await cached.find_key_owner("hash-1")
        assert account is not None
        monotonic.now += 0.05

    assert inner.reads["key"] == 1


async def test_another_processs_change_shows_after_at_most_a_second(
    cached: ReadCachingStorage, inner: CountingStorage, monotonic: Monotonic
) -> None:
    await cached.find_key_owner("hash-1")
    await inner.set_account_enabled("IW0001", False)  # written by another process

    monotonic.now += 0.99
    remembered = await cached.find_key_owner("hash-1")
    monotonic.now += 0.02
    seen = await cached.find_key_owner("hash-1")

    assert remembered is not None
    assert remembered.account.enabled
    assert seen is not None
    assert not seen.account.enabled


async def test_a_write_through_this_process_shows_at_once(cached: ReadCachingStorage) -> None:
    await cached.find_key_owner("hash-1")

    await cached.rotate_api_keys("IW0001", "hash-2", NOW, NOW)

    assert await cached.find_key_owner("hash-1") is None
    assert await cached.find_key_owner("hash-2") is not None


async def test_unknown_keys_are_remembered_too_so_floods_do_not_reach_storage(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    for _ in range(100):
        assert await cached.find_key_owner("no-such-hash") is None

    assert inner.reads["key"] == 1


async def test_the_cache_never_holds_more_than_its_bound(cached: ReadCachingStorage, inner: CountingStorage) -> None:
    for n in range(MAX_ENTRIES + 10):  # a flood of unknown keys
        await cached.find_key_owner(f"hash-{n}")
    reads = inner.reads["key"]

    await cached.find_key_owner(f"hash-{MAX_ENTRIES + 5}")  # remembered after the bound was hit
    await cached.find_key_owner("hash-1")  # forgotten when the table started afresh

    assert inner.reads["key"] == reads + 1
    assert len(cached._keys.entries) <= MAX_ENTRIES


async def test_a_refresh_lock_yields_what_is_stored_and_then_forgets_the_remembered_snapshot(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    await inner.create_account("IW0002", "hash-2", NOW)
    binding = Binding("IW0002", WABA_ID, PHONE_ID, "6285212340016", NOW)
    old = WabaSnapshot(Waba(WABA_ID, "PT TIG TECH"), (PhoneNumber(PHONE_ID, "+62 852-1234-0016"),), fetched_at=NOW)
    await inner.add_binding(binding, old)
    assert await cached.get_snapshot(WABA_ID) == old  # remembered
    newer = msgspec.structs.replace(old, fetched_at=NOW + timedelta(seconds=5))
    await inner.save_snapshot(newer, "request")  # stored by another instance

    async with cached.lock_refresh(WABA_ID) as locked:
        assert locked == newer
        assert await cached.get_snapshot(WABA_ID) == old  # within the second, and nothing written here

    assert await cached.get_snapshot(WABA_ID) == newer


async def test_a_binding_forgets_its_wabas_reads_and_keeps_the_key_lookups(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    snapshot = WabaSnapshot(Waba(WABA_ID, "PT TIG TECH"), (PhoneNumber(PHONE_ID, "+62 852-1234-0016"),), fetched_at=NOW)
    await cached.find_key_owner("hash-1")
    assert await cached.waba_owner(WABA_ID) is None
    assert await cached.account_waba_ids("IW0001") == []
    assert await cached.get_snapshot(WABA_ID) is None

    await cached.add_binding(Binding("IW0001", WABA_ID, PHONE_ID, "6285212340016", NOW), snapshot)

    assert await cached.waba_owner(WABA_ID) == "IW0001"
    assert await cached.account_waba_ids("IW0001") == [WABA_ID]
    assert await cached.get_snapshot(WABA_ID) == snapshot
    await cached.find_key_owner("hash-1")
    assert inner.reads["key"] == 1  # an account's keys do not change with its bindings

    await cached.remove_binding("IW0001", WABA_ID, PHONE_ID)

    assert await cached.waba_owner(WABA_ID) is None
    assert await cached.account_waba_ids("IW0001") == []
    assert await cached.get_snapshot(WABA_ID) is None


class HeldStorage(CountingStorage):
    """Key lookups read the store at once and answer when the test lets them (in any order), or fail."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[asyncio.Event] = []
        self.failure: Exception | None = None
        self._arrived = asyncio.Condition()
        self._open = False

    async def find_key_owner(self, key_hash: str) -> Any:
        self.reads["key"] += 1
        account = await InMemoryStorage.find_key_owner(self, key_hash)
        answer = asyncio.Event()
        if self._open:
            answer.set()
        async with self._arrived:
            self.answers.append(answer)
            self._arrived.notify_all()
        await answer.wait()
        if self.failure is not None:
            raise self.failure
        return account

    async def reads_held(self, count: int) -> None:
        async with asyncio.timeout(5), self._arrived:
            await self._arrived.wait_for(lambda: len(self.answers) >= count)

    def answer_all(self) -> None:
        """Answer the reads held, and every read from now on at once."""
        self._open = True
        for answer in self.answers:
            answer.set()


@pytest.fixture
def cached_held(held: HeldStorage, monotonic: Monotonic) -> ReadCachingStorage:
    return ReadCachingStorage(held, monotonic=monotonic)


@pytest.fixture
async def held() -> HeldStorage:
    storage = HeldStorage()
    await storage.migrate()
    await storage.create_account("IW0001", "hash-1", NOW)
    return storage


async def test_concurrent_misses_of_one_key_share_one_read(held: HeldStorage, cached_held: ReadCachingStorage) -> None:
    readers = [asyncio.create_task(cached_held.find_key_owner("hash-1")) for _ in range(50)]
    await held.reads_held(1)

    held.answer_all()
    accounts = await asyncio.gather(*readers)

    assert held.reads["key"] == 1
    assert {owner.account.name for owner in accounts if owner is not None} == {"IW0001"}
    assert await cached_held.find_key_owner("hash-1") is accounts[0]  # and it is remembered


async def test_a_shared_read_that_fails_fails_every_reader_and_is_not_remembered(
    held: HeldStorage, cached_held: ReadCachingStorage
) -> None:
    held.failure = ConnectionError("the store went away")
    readers = [asyncio.create_task(cached_held.find_key_owner("hash-1")) for _ in range(3)]
    await held.reads_held(1)

    held.answer_all()
    results = await asyncio.gather(*readers, return_exceptions=True)
    held.failure = None
    again = asyncio.create_task(cached_held.find_key_owner("hash-1"))
    await held.reads_held(2)
    held.answer_all()

    assert [type(result) for result in results] == [ConnectionError] * 3
    assert await again is not None
    assert held.reads["key"] == 2


async def test_a_reader_that_goes_away_does_not_cancel_the_read_for_the_others(
    held: HeldStorage, cached_held: ReadCachingStorage
) -> None:
    first = asyncio.create_task(cached_held.find_key_owner("hash-1"))
    second = asyncio.create_task(cached_held.find_key_owner("hash-1"))
    await held.reads_held(1)

    first.cancel()
    await asyncio.sleep(0)
    held.answer_all()

    assert await second is not None
    assert first.cancelled()
    assert held.reads["key"] == 1


async def test_a_write_during_a_read_is_not_undone_by_the_read_finishing(
    held: HeldStorage, cached_held: ReadCachingStorage
) -> None:
    before = asyncio.create_task(cached_held.find_key_owner("hash-1"))
    await held.reads_held(1)

    await cached_held.set_account_enabled("IW0001", False)  # forgets the key lookups, the one under way too
    after = asyncio.create_task(cached_held.find_key_owner("hash-1"))
    await held.reads_held(2)
    held.answers[1].set()  # the later read answers first,
    seen = await after
    held.answers[0].set()  # then the one that read before the write
    read_before = await before

    assert read_before is not None
    assert read_before.account.enabled  # what the store held when that read ran
    assert seen is not None
    assert not seen.account.enabled
    remembered = await cached_held.find_key_owner("hash-1")
    assert remembered is not None
    assert not remembered.account.enabled
    assert held.reads["key"] == 2


# an account's snapshots, read together

OTHER_WABA_ID = "278990000057662"
OTHER_PHONE_ID = "267300000093636"


def snapshot_of(waba_id: str, phone_number_id: str, name: str = "PT TIG TECH", seconds: float = 0) -> WabaSnapshot:
    return WabaSnapshot(
        Waba(waba_id, name),
        (PhoneNumber(phone_number_id, "+62 852-1234-0016"),),
        fetched_at=NOW + timedelta(seconds=seconds),
    )


async def bind_two_wabas(storage: Storage) -> None:
    """Bind two WABAs to IW0001, the first one first."""
    await storage.add_binding(
        Binding("IW0001", WABA_ID, PHONE_ID, "6285212340016", NOW), snapshot_of(WABA_ID, PHONE_ID)
    )
    later = NOW + timedelta(seconds=1)
    other = Binding("IW0001", OTHER_WABA_ID, OTHER_PHONE_ID, "8613312345155", later)
    await storage.add_binding(other, snapshot_of(OTHER_WABA_ID, OTHER_PHONE_ID))


async def test_an_accounts_snapshots_are_read_once_and_then_answer_the_single_reads_too(
    cached: ReadCachingStorage, inner: CountingStorage, monotonic: Monotonic
) -> None:
    await bind_two_wabas(inner)
    expected = [(WABA_ID, snapshot_of(WABA_ID, PHONE_ID)), (OTHER_WABA_ID, snapshot_of(OTHER_WABA_ID, OTHER_PHONE_ID))]

    assert await cached.account_snapshots("IW0001") == expected
    monotonic.now += 0.5
    assert await cached.account_snapshots("IW0001") == expected
    assert await cached.account_waba_ids("IW0001") == [WABA_ID, OTHER_WABA_ID]
    assert await cached.get_snapshot(OTHER_WABA_ID) == expected[1][1]

    assert inner.reads == Counter({"account snapshots": 1})


async def test_an_accounts_snapshots_come_from_the_single_reads_when_all_are_remembered(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    await bind_two_wabas(inner)
    await cached.account_waba_ids("IW0001")
    await cached.get_snapshot(WABA_ID)
    await cached.get_snapshot(OTHER_WABA_ID)

    wabas = await cached.account_snapshots("IW0001")

    assert wabas == [
        (WABA_ID, snapshot_of(WABA_ID, PHONE_ID)),
        (OTHER_WABA_ID, snapshot_of(OTHER_WABA_ID, OTHER_PHONE_ID)),
    ]
    assert inner.reads == Counter({"account wabas": 1, "snapshot": 2})


async def test_one_forgotten_snapshot_makes_the_account_read_its_snapshots_together_again(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    await bind_two_wabas(inner)
    await cached.account_snapshots("IW0001")
    renamed = snapshot_of(OTHER_WABA_ID, OTHER_PHONE_ID, name="PT TIG CODE", seconds=5)

    await cached.save_snapshot(renamed, "request")

    assert await cached.account_snapshots("IW0001") == [
        (WABA_ID, snapshot_of(WABA_ID, PHONE_ID)),
        (OTHER_WABA_ID, renamed),
    ]
    assert inner.reads == Counter({"account snapshots": 2})  # together, never one WABA after another


async def test_an_accounts_snapshots_show_another_processs_change_after_at_most_a_second(
    cached: ReadCachingStorage, inner: CountingStorage, monotonic: Monotonic
) -> None:
    await bind_two_wabas(inner)
    await cached.account_snapshots("IW0001")
    renamed = snapshot_of(WABA_ID, PHONE_ID, name="PT TIG TECH (renamed)", seconds=5)
    await inner.save_snapshot(renamed, "request")  # written by another process

    monotonic.now += 0.99
    remembered = await cached.account_snapshots("IW0001")
    monotonic.now += 0.02
    seen = await cached.account_snapshots("IW0001")

    assert remembered[0] == (WABA_ID, snapshot_of(WABA_ID, PHONE_ID))
    assert seen[0] == (WABA_ID, renamed)
    assert await cached.get_snapshot(WABA_ID) == renamed
    assert inner.reads == Counter({"account snapshots": 2})


async def test_a_waba_without_a_snapshot_is_listed_and_remembered_with_none(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    await bind_two_wabas(inner)
    del inner.snapshots[WABA_ID]

    assert (await cached.account_snapshots("IW0001"))[0] == (WABA_ID, None)
    assert await cached.get_snapshot(WABA_ID) is None
    assert (await cached.account_snapshots("IW0001"))[0] == (WABA_ID, None)
    assert inner.reads == Counter({"account snapshots": 1})


class HeldAccountStorage(CountingStorage):
    """Reads of an account's snapshots read the store at once and answer when the test lets them, in any order."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[asyncio.Event] = []
        self._arrived = asyncio.Condition()

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        wabas = await super().account_snapshots(account_name)
        answer = asyncio.Event()
        async with self._arrived:
            self.answers.append(answer)
            self._arrived.notify_all()
        await answer.wait()
        return wabas

    async def reads_held(self, count: int) -> None:
        async with asyncio.timeout(5), self._arrived:
            await self._arrived.wait_for(lambda: len(self.answers) >= count)


@pytest.fixture
async def held_account() -> HeldAccountStorage:
    storage = HeldAccountStorage()
    await storage.create_account("IW0001", "hash-1", NOW)
    await bind_two_wabas(storage)
    return storage


async def test_concurrent_misses_of_an_accounts_snapshots_share_one_read(
    held_account: HeldAccountStorage, monotonic: Monotonic
) -> None:
    cached = ReadCachingStorage(held_account, monotonic=monotonic)
    readers = [asyncio.create_task(cached.account_snapshots("IW0001")) for _ in range(50)]
    await held_account.reads_held(1)

    held_account.answers[0].set()
    results = await asyncio.gather(*readers)

    assert all(result == results[0] for result in results)
    assert len(results[0]) == 2
    assert held_account.reads == Counter({"account snapshots": 1})


async def test_a_snapshot_write_during_an_accounts_read_is_not_undone_by_the_read_finishing(
    held_account: HeldAccountStorage, monotonic: Monotonic
) -> None:
    cached = ReadCachingStorage(held_account, monotonic=monotonic)
    before = asyncio.create_task(cached.account_snapshots("IW0001"))
    await held_account.reads_held(1)
    renamed = snapshot_of(WABA_ID, PHONE_ID, name="PT TIG TECH (renamed)", seconds=5)

    await cached.save_snapshot(renamed, "request")  # while the read that saw the old snapshot is under way
    after = asyncio.create_task(cached.account_snapshots("IW0001"))  # does not join that read
    await held_account.reads_held(2)
    held_account.answers[1].set()  # the later read answers first,
    seen = await after
    held_account.answers[0].set()  # then the one that read before the write
    read_before = await before

    assert read_before[0] == (WABA_ID, snapshot_of(WABA_ID, PHONE_ID))  # what the store held when it read
    assert seen[0] == (WABA_ID, renamed)
    assert await cached.get_snapshot(WABA_ID) == renamed
    assert (await cached.account_snapshots("IW0001"))[0] == (WABA_ID, renamed)
    assert held_account.reads == Counter({"account snapshots": 2})


@pytest.mark.parametrize("read", ["waba_owner", "get_snapshot", "account_snapshots"])
async def test_a_read_the_store_could_not_answer_is_not_remembered(read: str) -> None:
    inner = StorageWithOutage()
    await inner.create_account("IW0001", "hash-1", NOW)
    binding = Binding(account_name="IW0001", waba_id=WABA_ID, phone_number_id=PHONE_ID, phone_number="1", bound_at=NOW)
    await inner.add_binding(binding, WabaSnapshot(waba=Waba(id=WABA_ID, name="W"), phone_numbers=(), fetched_at=NOW))
    cached = ReadCachingStorage(inner, max_age_seconds=1.0, monotonic=Monotonic())
    key = "IW0001" if read == "account_snapshots" else WABA_ID
    inner.fail_next(1)

    with pytest.raises(StorageUnavailable):
        await getattr(cached, read)(key)
    answer = await getattr(cached, read)(key)

    assert answer  # the store's answer, read again: the failure was not remembered
    assert inner.failed == 1
