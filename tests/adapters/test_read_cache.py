"""The one-second memory layer over storage (SPEC §3.7)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from intwa.adapters.storage.read_cache import MAX_ENTRIES, ReadCachingStorage
from intwa.domain.models import Binding, PhoneNumber, Waba, WabaSnapshot
from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.storage import InMemoryStorage

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
_: type[Storage] = ReadCachingStorage


class CountingStorage(InMemoryStorage):
    """The in-memory store, counting the reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: Counter[str] = Counter()

    async def find_account_by_key_hash(self, key_hash: str) -> Any:
        self.reads["key"] += 1
        return await super().find_account_by_key_hash(key_hash)


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
        account = await cached.find_account_by_key_hash("hash-1")
        assert account is not None
        monotonic.now += 0.05

    assert inner.reads["key"] == 1


async def test_another_processs_change_shows_after_at_most_a_second(
    cached: ReadCachingStorage, inner: CountingStorage, monotonic: Monotonic
) -> None:
    await cached.find_account_by_key_hash("hash-1")
    await inner.set_account_enabled("IW0001", False)  # written by another process

    monotonic.now += 0.99
    remembered = await cached.find_account_by_key_hash("hash-1")
    monotonic.now += 0.02
    seen = await cached.find_account_by_key_hash("hash-1")

    assert remembered is not None
    assert remembered.enabled
    assert seen is not None
    assert not seen.enabled


async def test_a_write_through_this_process_shows_at_once(cached: ReadCachingStorage) -> None:
    await cached.find_account_by_key_hash("hash-1")

    await cached.replace_api_keys("IW0001", "hash-2", NOW)

    assert await cached.find_account_by_key_hash("hash-1") is None
    assert await cached.find_account_by_key_hash("hash-2") is not None


async def test_unknown_keys_are_remembered_too_so_floods_do_not_reach_storage(
    cached: ReadCachingStorage, inner: CountingStorage
) -> None:
    for _ in range(100):
        assert await cached.find_account_by_key_hash("no-such-hash") is None

    assert inner.reads["key"] == 1


async def test_the_cache_never_holds_more_than_its_bound(cached: ReadCachingStorage, inner: CountingStorage) -> None:
    for n in range(MAX_ENTRIES + 10):  # a flood of unknown keys
        await cached.find_account_by_key_hash(f"hash-{n}")
    reads = inner.reads["key"]

    await cached.find_account_by_key_hash(f"hash-{MAX_ENTRIES + 5}")  # remembered after the bound was hit
    await cached.find_account_by_key_hash("hash-1")  # forgotten when the table started afresh

    assert inner.reads["key"] == reads + 1
    assert len(cached._keys) <= MAX_ENTRIES


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
    await cached.find_account_by_key_hash("hash-1")
    assert await cached.waba_owner(WABA_ID) is None
    assert await cached.account_waba_ids("IW0001") == []
    assert await cached.get_snapshot(WABA_ID) is None

    await cached.add_binding(Binding("IW0001", WABA_ID, PHONE_ID, "6285212340016", NOW), snapshot)

    assert await cached.waba_owner(WABA_ID) == "IW0001"
    assert await cached.account_waba_ids("IW0001") == [WABA_ID]
    assert await cached.get_snapshot(WABA_ID) == snapshot
    await cached.find_account_by_key_hash("hash-1")
    assert inner.reads["key"] == 1  # an account's keys do not change with its bindings

    await cached.remove_binding("IW0001", WABA_ID, PHONE_ID)

    assert await cached.waba_owner(WABA_ID) is None
    assert await cached.account_waba_ids("IW0001") == []
    assert await cached.get_snapshot(WABA_ID) is None
