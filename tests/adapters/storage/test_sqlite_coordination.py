"""How processes on one SQLite file take turns to refresh a WABA: leases that last while renewed (SPEC §3.7)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database
from intwa.adapters.storage.sqlite_database import SqliteDatabase, from_utc_text, utc_text
from intwa.domain.models import WabaSnapshot
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, bind, create_accounts, snapshot_of
from tests.adapters.storage.holders import SQLITE_HOLDER, holding_child

open_database = asynccontextmanager(open_sqlite_database)

WABA = "278990000057661"
PHONE = "267300000093634"

LEASE_SECONDS = 0.5
"""A lease short enough to watch expire in a test."""
MARGIN_SECONDS = 0.5
"""What a takeover may take beyond the lease on a busy machine: polling, and the event loop's turns."""


async def test_a_refresh_lease_held_by_one_process_holds_up_another_but_not_its_writes(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as first, open_database(path) as second:
        processes = [SqliteStorage(first), SqliteStorage(second)]
        await processes[0].migrate()
        await create_accounts(processes[0], "acme")
        await bind(processes[0], "acme", WABA, PHONE)
        newer = snapshot_of(WABA, PHONE, name="PT TIG TECH (renamed)", fetched_at=T0 + timedelta(seconds=60))

        async with processes[0].lock_refresh(WABA):
            waiting = asyncio.create_task(_read_under_lock(processes[1]))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            async with asyncio.timeout(1):  # SQLite's write lock is free while a refresh is under way
                await create_accounts(processes[1], "zeta")
                await processes[0].save_snapshot(newer, "request")

        async with asyncio.timeout(5):
            assert await waiting == newer
        assert await first.fetch_all("SELECT * FROM refresh_leases") == []


async def test_the_refresh_lease_of_a_killed_process_is_taken_over_when_it_expires(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    expires_at = datetime.now(UTC) + timedelta(seconds=0.3)
    async with database.transaction() as writer:  # left by a process killed during its Graph call
        await writer.execute("INSERT INTO refresh_leases VALUES (?, 'killed', ?)", (WABA, utc_text(expires_at)))

    async with asyncio.timeout(5), storage.lock_refresh(WABA):
        taken_at = datetime.now(UTC)

    assert taken_at >= expires_at
    assert taken_at - expires_at < timedelta(seconds=0.5)


async def test_a_refresh_that_outlasts_its_lease_keeps_it_by_renewing_it(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")
    lease = timedelta(seconds=0.3)
    async with open_database(path) as first, open_database(path) as second:
        holder = SqliteStorage(first, refresh_lease_seconds=lease.total_seconds())
        await holder.migrate()
        first_expiry = datetime.now(UTC) + lease

        async with holder.lock_refresh(WABA):
            waiting = asyncio.create_task(_read_under_lock(SqliteStorage(second)))
            await asyncio.sleep(lease.total_seconds() * 2.5)  # a slow Meta call
            assert not waiting.done()
            [(expires_at,)] = await first.fetch_all("SELECT expires_at FROM refresh_leases")
            assert from_utc_text(expires_at) > first_expiry + lease

        async with asyncio.timeout(5):
            assert await waiting is None
        assert await first.fetch_all("SELECT * FROM refresh_leases") == []


async def test_the_refresh_lease_of_a_process_killed_mid_refresh_is_taken_over_within_one_lease(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as database:
        await SqliteStorage(database).migrate()
        async with holding_child(SQLITE_HOLDER, path, WABA, str(LEASE_SECONDS)) as child:
            waiting = asyncio.create_task(_read_under_lock(SqliteStorage(database)))
            await asyncio.sleep(LEASE_SECONDS * 1.5)
            assert not waiting.done()  # the living child renews its lease

            child.kill()
            killed_at = time.monotonic()
            async with asyncio.timeout(5):
                await waiting
            taken_after = time.monotonic() - killed_at
            assert await child.wait() == -signal.SIGKILL

    assert taken_after < LEASE_SECONDS + MARGIN_SECONDS, taken_after


async def test_a_lease_held_while_its_database_closes_ends_quietly_and_keeps_the_blocks_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intwa.storage")
    opened = open_database(str(tmp_path / "intwa.db"))
    storage = SqliteStorage(await opened.__aenter__(), refresh_lease_seconds=LEASE_SECONDS)
    await storage.migrate()

    async def refresh_during_shutdown() -> None:
        async with storage.lock_refresh(WABA):
            await opened.__aexit__(None, None, None)  # the process shuts down during the refresh
            raise RuntimeError("the provider call failed")

    with pytest.raises(RuntimeError, match="the provider call failed") as raised:
        await refresh_during_shutdown()

    assert raised.value.__context__ is None
    logged = [record for record in caplog.records if record.name == "intwa.storage" or record.levelno > logging.DEBUG]
    assert [(record.name, record.levelno, record.exc_info) for record in logged] == [
        ("intwa.storage", logging.DEBUG, None)
    ]
    assert f"refresh lease of WABA {WABA} not released" in logged[0].getMessage()


async def _read_under_lock(storage: Storage) -> WabaSnapshot | None:
    async with storage.lock_refresh(WABA) as snapshot:
        return snapshot
