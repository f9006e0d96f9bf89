"""What only the SQLite store promises about history: its migration, and one record per change under races."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage, open_sqlite_database
from intwa.adapters.storage.sqlite_migrations import MIGRATIONS, apply_migrations
from intwa.domain.errors import StorageNotReady
from intwa.domain.models import Account, ApiKeyOwner, Binding, Change
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, at, bind, binding_of, create_accounts, snapshot_of

open_database = asynccontextmanager(open_sqlite_database)

WABA = "278990000057661"
PHONE = "267300000093634"


async def test_two_processes_saving_the_same_changed_snapshot_record_each_change_once(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as first, open_database(path) as second:
        processes: list[Storage] = [SqliteStorage(first), SqliteStorage(second)]
        await processes[0].migrate()
        await create_accounts(processes[0], "acme")
        await bind(processes[0], "acme", WABA, PHONE)

        returned: list[Change] = []
        for round_ in range(1, 11):
            renamed = snapshot_of(WABA, PHONE, name=f"PT TIG TECH {round_}", fetched_at=at(round_))
            # Two writers in each process: the process's write lock and the file's lock both take part.
            outcomes = await asyncio.gather(*(process.save_snapshot(renamed, "sync") for process in processes * 2))
            assert sorted(len(changes) for changes in outcomes) == [0, 0, 0, 1]
            returned.extend(change for changes in outcomes for change in changes)

        for process in processes:
            history = await process.list_history()
            assert history == returned
            assert [change.new for change in history] == [f"PT TIG TECH {round_}" for round_ in range(1, 11)]
            assert [change.old for change in history] == ["PT TIG TECH", *(c.new for c in history[:-1])]


async def test_a_database_at_version_1_is_upgraded_to_the_latest_keeping_its_data(database: SqliteDatabase) -> None:
    assert await apply_migrations(database, MIGRATIONS[:1]) == [1]
    snapshot = snapshot_of(WABA, PHONE)
    when = "2026-11-27T08:52:55.123456Z"
    async with database.transaction() as writer:  # written as the code of version 1 wrote it
        await writer.execute("INSERT INTO accounts VALUES ('acme', 1, ?)", (when,))
        await writer.execute("INSERT INTO api_keys VALUES ('hash-1', 'acme', ?)", (when,))
        await writer.execute("INSERT INTO wabas VALUES (?, 'acme', ?)", (WABA, when))
        await writer.execute("INSERT INTO bindings VALUES (?, ?, 'acme', '6285212340016', ?)", (PHONE, WABA, when))
        await writer.execute("INSERT INTO waba_snapshots VALUES (?, ?, ?)", (WABA, msgspec.json.encode(snapshot), when))
    storage = SqliteStorage(database)

    assert await storage.migrate() == [2, 3, 5, 6, 7]

    assert await storage.find_binding(PHONE) == binding_of("acme", WABA, PHONE, T0)
    assert await storage.find_key_owner("hash-1") == ApiKeyOwner(Account("acme", True, T0), valid_until=None)
    assert await storage.get_snapshot(WABA) == snapshot
    assert await storage.list_history() == []
    renamed = snapshot_of(WABA, PHONE, name="PT TIG", fetched_at=at(60))
    changes = await storage.save_snapshot(renamed, "sync")
    assert changes == [Change(at(60), WABA, None, "wabaName", "PT TIG TECH", "PT TIG", "sync")]
    assert await storage.list_history() == changes


async def test_a_database_of_a_newer_intwa_is_refused_with_both_versions(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    known = MIGRATIONS[-1].version
    async with database.transaction() as writer:
        await writer.execute("INSERT INTO schema_migrations VALUES (?, '2027-01-01T00:00:00.000000Z')", (known + 1,))

    with pytest.raises(StorageNotReady, match=f"version {known + 1}, newer than version {known}"):
        await storage.migrate()

    rows = await database.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    assert rows == [*((migration.version,) for migration in MIGRATIONS), (known + 1,)]


async def test_history_rows_have_no_tie_to_bindings_so_unbinding_deletes_none(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    await storage.save_snapshot(snapshot_of(WABA, PHONE, name="PT TIG", fetched_at=at(60)), "sync")

    removed = await storage.remove_binding("acme", WABA, PHONE)

    assert removed == Binding("acme", WABA, PHONE, "6285212340016", T0)
    assert await database.fetch_all("SELECT waba_id, field, source FROM history") == [(WABA, "wabaName", "sync")]
    assert await database.fetch_all("PRAGMA foreign_key_check") == []
