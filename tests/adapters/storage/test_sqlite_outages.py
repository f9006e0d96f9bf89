"""The SQLite file when it cannot be used now: full, or locked by another process past the busy timeout."""

from __future__ import annotations

import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage, open_sqlite_database
from intwa.domain.errors import StorageUnavailable
from tests.adapters.storage.examples import bind, create_accounts

open_database = asynccontextmanager(open_sqlite_database)

WABA = "278990000057661"
PHONE = "267300000093634"


async def _limit_pages(database: SqliteDatabase, pages: int | None = None) -> None:
    """Let the file grow to `pages` pages (its size now when None): past them, writes find the disk full."""
    async with database.transaction() as writer:
        if pages is None:
            [(pages,)] = await writer.execute_fetchall("PRAGMA page_count")
        await writer.execute(f"PRAGMA max_page_count = {pages}")


async def test_a_full_disk_makes_writes_storage_unavailable_while_reads_answer_until_there_is_room(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    await _limit_pages(database)

    async def bind_until_a_page_more_is_needed() -> int:
        for n in range(1000):
            await bind(storage, "acme", f"9{n:014d}", f"8{n:014d}")
        return n

    with pytest.raises(StorageUnavailable) as raised:
        await bind_until_a_page_more_is_needed()
    n = len(await storage.list_bindings()) - 1  # the one that failed

    assert raised.value.code == 50301
    assert raised.value.message == "storage is unavailable (disk full); retry in 5 s"
    assert raised.value.retry_after_seconds == 5
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    assert await storage.find_binding(f"8{n:014d}") is None  # all or nothing
    assert (await storage.find_binding(PHONE)) is not None  # reads answer
    assert await storage.get_snapshot(WABA) is not None
    assert database.outage.failing

    await _limit_pages(database, 1_000_000)
    await bind(storage, "acme", f"9{n:014d}", f"8{n:014d}")
    assert await storage.find_binding(f"8{n:014d}") is not None


async def test_a_write_lock_held_past_the_busy_timeout_is_storage_unavailable(
    database: SqliteDatabase, tmp_path: Path
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    async with database.transaction() as writer:
        await writer.execute("PRAGMA busy_timeout = 50")
    blocker = sqlite3.connect(tmp_path / "intwa.db", isolation_level=None)  # the `database` fixture's file
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holding the file's write lock
        with pytest.raises(StorageUnavailable, match=r"\(database locked\)"):
            await create_accounts(storage, "acme")
    finally:
        blocker.close()

    await create_accounts(storage, "acme")
    assert await storage.get_account("acme") is not None


async def test_errors_of_the_statements_themselves_stay_what_they_are(database: SqliteDatabase) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await database.fetch_all("SELECT * FROM nothing_of_the_kind")
    async with database.transaction() as writer:
        await writer.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with pytest.raises(sqlite3.IntegrityError):
        async with database.transaction() as writer:
            await writer.execute("INSERT INTO t VALUES (1), (1)")

    assert not database.outage.failing
