"""A refresh left unfinished by a killed process: readers wait no longer than the refresh wait (SPEC §3.7).

A child process takes the WABA's refresh lock and is killed mid-refresh, as a crashed worker or instance
would be. A reader of that WABA in this process is answered from its stale snapshot within the refresh
wait, and its refresh takes the lock over once the dead holder's lease is gone (SQLite: it expires;
PostgreSQL: the lock dies with the holder's connection), on either backend.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.storage.postgres import PostgresStorage, open_postgres_pool
from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database
from intwa.domain.ports import Storage
from intwa.domain.snapshots import Snapshots
from intwa.settings import Secret
from tests.adapters.storage.conftest import empty
from tests.adapters.storage.examples import T0, bind, create_accounts
from tests.adapters.storage.holders import POSTGRES_HOLDER, SQLITE_HOLDER, holding_child
from tests.conftest import FAKE_DATA, PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock

TTL_SECONDS = 300
REFRESH_WAIT = 0.3
LEASE_SECONDS = 1.0
"""The SQLite lease of the killed holder: how long the refresh waits before it takes over."""
MARGIN = 0.3
"""What an answer may take beyond the wait on a busy machine."""


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    data: dict[str, Any] = copy.deepcopy(FAKE_DATA)
    path = tmp_path / "fake-data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@asynccontextmanager
async def sqlite_with_holder(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Storage, Any]]:
    path = str(request.getfixturevalue("tmp_path") / "intwa.db")
    async with asynccontextmanager(open_sqlite_database)(path) as database:
        storage = SqliteStorage(database, refresh_lease_seconds=LEASE_SECONDS)
        await storage.migrate()
        await _bound(storage)
        async with holding_child(SQLITE_HOLDER, path, WABA_ID, str(LEASE_SECONDS)) as child:
            yield storage, child


@asynccontextmanager
async def postgres_with_holder(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Storage, Any]]:
    dsn: str = request.getfixturevalue("postgres_database")
    async with asynccontextmanager(open_postgres_pool)(Secret(dsn)) as database:
        storage = PostgresStorage(database)
        await empty(storage, database)
        await _bound(storage)
        async with holding_child(POSTGRES_HOLDER, dsn, WABA_ID) as child:
            yield storage, child


BACKENDS = {"sqlite": sqlite_with_holder, "postgres": postgres_with_holder}


async def _bound(storage: Storage) -> None:
    await create_accounts(storage, "IW0001")
    await bind(storage, "IW0001", WABA_ID, PHONE_ID)  # a snapshot fetched at T0


def _holder(request: pytest.FixtureRequest, backend: str) -> AbstractAsyncContextManager[tuple[Storage, Any]]:
    return BACKENDS[backend](request)


def _snapshots(storage: Storage, provider: FakeProvider) -> Snapshots:
    clock = FakeClock(T0)
    clock.advance(TTL_SECONDS + 1)  # the snapshot is stale, and may still be served
    return Snapshots(
        storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=86400, refresh_wait_seconds=REFRESH_WAIT
    )


async def _timed_name(snapshots: Snapshots) -> tuple[str, float]:
    started = time.perf_counter()
    snapshot = await snapshots.current(WABA_ID)
    return snapshot.waba.name, time.perf_counter() - started


@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_reads_behind_a_refresh_that_hangs_in_another_process_are_answered_stale_within_the_wait(
    request: pytest.FixtureRequest, fake_data_path: Path, backend: str
) -> None:
    provider = FakeProvider.from_file(str(fake_data_path))
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")
    async with _holder(request, backend) as (storage, _):
        snapshots = _snapshots(storage, provider)

        first = await _timed_name(snapshots)
        second = await _timed_name(snapshots)

        assert first[0] == second[0] == "PT TIG TECH"
        assert REFRESH_WAIT <= first[1] < REFRESH_WAIT + MARGIN
        assert second[1] < MARGIN  # the refresh has had its wait: answered at once
        assert provider.calls["fetch_waba"] == 0
        await snapshots.close()


@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_the_refresh_a_killed_process_left_is_taken_over_and_never_holds_a_reader_past_the_wait(
    request: pytest.FixtureRequest, fake_data_path: Path, backend: str
) -> None:
    provider = FakeProvider.from_file(str(fake_data_path))
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")
    async with _holder(request, backend) as (storage, child):
        snapshots = _snapshots(storage, provider)
        child.kill()  # mid-refresh: its lock is left behind
        await child.wait()

        name, took = await _timed_name(snapshots)

        assert took < REFRESH_WAIT + MARGIN
        # PostgreSQL's lock died with the holder's connection: refreshed at once. SQLite's lease expires first.
        assert name == ("PT TIG TECH GLOBAL" if backend == "postgres" else "PT TIG TECH")
        async with asyncio.timeout(LEASE_SECONDS + REFRESH_WAIT + 2 * MARGIN):
            # Joins the refresh under way, or takes what it stored: anything fetched after the stale snapshot.
            refreshed = await snapshots.refresh(WABA_ID, source="request", fresh_after=T0)
        stored = await storage.get_snapshot(WABA_ID)
        assert stored is not None
        assert refreshed.snapshot.waba.name == stored.waba.name == "PT TIG TECH GLOBAL"
        assert provider.calls["fetch_waba"] == 1
        await snapshots.close()
