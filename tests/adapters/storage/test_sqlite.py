"""What only the SQLite store promises: its file, its pragmas, its migrations, and safety under races."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage, open_sqlite_database
from intwa.adapters.storage.sqlite_database import SQL, fetch_together, utc_text
from intwa.adapters.storage.statements import PRUNE_BATCH_ROWS
from intwa.domain.errors import PhoneNumberBoundToAnotherAccount, WabaBoundToAnotherAccount
from intwa.domain.models import Binding, WebhookEvent
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import (
    SNAPSHOT_STORED_BEFORE_HEALTH,
    T0,
    at,
    bind,
    binding_of,
    changes_of_the_first_refresh_after_health,
    create_accounts,
    refreshed_with_health,
    snapshot_before_health,
    snapshot_of,
)

_: type[Storage] = SqliteStorage  # mypy checks that the adapter satisfies the port

open_database = asynccontextmanager(open_sqlite_database)

WABA = "278990000057661"
PHONE = "267300000093634"
OTHER_WABA = "278990000057662"
OTHER_PHONE = "267300000093636"


async def test_the_database_file_and_its_missing_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "intwa.db"

    async with open_database(str(path)) as database:
        await SqliteStorage(database).migrate()

    assert path.is_file()


async def test_both_connections_use_wal_foreign_keys_and_a_busy_timeout(database: SqliteDatabase) -> None:
    settings = "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_busy_timeout, pragma_synchronous"

    reader_settings = await database.fetch_all(settings)
    async with database.transaction() as writer:
        writer_settings = list(await writer.execute_fetchall(settings))

    assert reader_settings[0][:3] == writer_settings[0][:3] == ("wal", 1, 5000)
    assert writer_settings[0][3] == 2  # FULL: a commit is on disk before it returns
    assert await database.fetch_all("PRAGMA query_only") == [(1,)]


async def test_migrating_records_each_version_once(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)

    assert await storage.migrate() == [1, 2, 3, 5, 6, 7]
    assert await storage.migrate() == []

    rows = await database.fetch_all("SELECT version, applied_at FROM schema_migrations")
    assert [version for version, _ in rows] == [1, 2, 3, 5, 6, 7]
    assert rows[0][1].endswith("Z")


async def test_two_processes_migrating_at_once_apply_each_version_once(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as first, open_database(path) as second:
        applied = await asyncio.gather(SqliteStorage(first).migrate(), SqliteStorage(second).migrate())

    assert sorted(version for versions in applied for version in versions) == [1, 2, 3, 5, 6, 7]


async def test_the_reader_sees_nothing_of_a_transaction_until_it_commits(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()

    async with database.transaction() as writer:
        await writer.execute("INSERT INTO accounts (name, enabled, created_at) VALUES ('acme', 1, 'x')")
        assert await storage.get_account("acme") is None

    assert await database.fetch_all("SELECT name FROM accounts") == [("acme",)]


async def test_an_accounts_snapshots_are_one_indexed_query_and_a_missing_snapshot_reads_none(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    await bind(storage, "acme", OTHER_WABA, OTHER_PHONE, seconds=60)
    async with database.transaction() as writer:  # a bound WABA whose snapshot row is gone
        await writer.execute("DELETE FROM waba_snapshots WHERE waba_id = ?", (WABA,))

    assert await storage.account_snapshots("acme") == [(WABA, None), (OTHER_WABA, snapshot_of(OTHER_WABA, OTHER_PHONE))]
    plan = [detail for *_, detail in await database.fetch_all(f"EXPLAIN QUERY PLAN {SQL.account_snapshots}", ("acme",))]
    assert "wabas_by_account" in plan[0]  # the account's WABAs already in binding order
    assert not any("SCAN" in step or "TEMP B-TREE" in step for step in plan), plan


async def test_a_snapshot_stored_before_health_reads_unknown_and_the_first_refresh_records_metas_values(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    async with database.transaction() as writer:
        stored_before = SNAPSHOT_STORED_BEFORE_HEALTH.encode()
        await writer.execute("UPDATE waba_snapshots SET snapshot = ? WHERE waba_id = ?", (stored_before, WABA))

    old = await storage.get_snapshot(WABA)
    changes = await storage.save_snapshot(refreshed_with_health(snapshot_before_health(), at(60)), "sync")

    assert old == snapshot_before_health()
    assert await storage.account_snapshots("acme") == [(WABA, refreshed_with_health(snapshot_before_health(), at(60)))]
    assert changes == changes_of_the_first_refresh_after_health(at(60))


async def test_pruning_more_webhook_events_than_a_batch_deletes_them_all_through_the_time_index(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    old_events = [
        (f"sha256:{n}", utc_text(at(-n)), WABA, WABA, "account_update", None, "{}")
        for n in range(1, PRUNE_BATCH_ROWS * 2 + 501)
    ]
    async with database.transaction() as writer:
        await writer.executemany(
            "INSERT INTO webhook_events (fingerprint, received_at, object_id, waba_id, field, event, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            old_events,
        )
    kept = WebhookEvent(T0, WABA, WABA, "account_update", None, "{}", "sha256:kept")
    await storage.record_webhook_event(kept)

    assert await storage.prune_webhook_events(T0) == len(old_events)

    assert await storage.list_webhook_events() == [kept]
    plan = [
        detail
        for *_, detail in await database.fetch_all(
            f"EXPLAIN QUERY PLAN {SQL.prune_webhook_events}", (utc_text(T0), PRUNE_BATCH_ROWS)
        )
    ]
    assert any("webhook_events_by_time (received_at<?)" in step for step in plan), plan
    assert not any(step.startswith("SCAN") for step in plan), plan


async def test_a_failed_transaction_is_rolled_back_and_the_writer_stays_usable(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()

    async def insert_then_fail() -> None:
        async with database.transaction() as writer:
            await writer.execute("INSERT INTO accounts (name, enabled, created_at) VALUES ('acme', 1, 'x')")
            raise RuntimeError("the caller fails inside the transaction")

    with pytest.raises(RuntimeError, match="inside the transaction"):
        await insert_then_fail()

    assert await storage.get_account("acme") is None
    await create_accounts(storage, "acme")
    assert await storage.get_account("acme") is not None


async def test_a_write_after_the_database_closed_fails_with_one_error_not_a_chain(tmp_path: Path) -> None:
    opened = open_database(str(tmp_path / "intwa.db"))
    database = await opened.__aenter__()
    await opened.__aexit__(None, None, None)

    with pytest.raises(ValueError, match="connection") as raised:
        async with database.transaction():
            pass

    assert raised.value.__context__ is None  # the rollback of nothing adds no second traceback


async def test_statements_queued_together_run_in_their_order_and_return_their_rows(database: SqliteDatabase) -> None:
    async with database.transaction() as writer:
        await writer.execute("CREATE TABLE queued (n INTEGER)")
        rows = await fetch_together(
            writer,
            *[("INSERT INTO queued (n) VALUES (?) RETURNING n", (n,)) for n in range(30)],
            ("SELECT count(*) FROM queued", ()),
        )

    assert rows == [*[[(n,)] for n in range(30)], [(30,)]]
    assert await database.fetch_all("SELECT n FROM queued ORDER BY rowid") == [(n,) for n in range(30)]


async def test_a_failure_among_statements_queued_together_is_raised_and_rolls_back_all_of_them(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    insert = "INSERT INTO accounts (name, enabled, created_at) VALUES (?, 1, 'x')"

    with pytest.raises(sqlite3.IntegrityError):
        async with database.transaction() as writer:
            await fetch_together(writer, (insert, ("first",)), (insert, ("first",)), (insert, ("third",)))

    assert await database.fetch_all("SELECT name FROM accounts") == []


async def test_a_bind_cancelled_at_any_point_stores_all_or_nothing_and_the_next_write_works(
    database: SqliteDatabase,
) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    await create_accounts(storage, "acme")

    for ticks in range(40):  # event loop turns before the cancel: lands before, inside and after the commit
        waba_id, phone_number_id = f"9{ticks:03}", f"1{ticks:03}"
        task = asyncio.create_task(bind(storage, "acme", waba_id, phone_number_id))
        for _ in range(ticks):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

        await create_accounts(storage, f"after-{ticks}")
        bound = await storage.find_binding(phone_number_id) is not None
        assert (
            bound == (await storage.waba_owner(waba_id) == "acme") == (await storage.get_snapshot(waba_id) is not None)
        )
    assert await database.fetch_all("PRAGMA integrity_check") == [("ok",)]


async def test_concurrent_binds_of_one_phone_number_let_exactly_one_account_win(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    accounts = [f"account-{index:02}" for index in range(20)]
    await create_accounts(storage, *accounts)

    outcomes = await asyncio.gather(
        *(bind(storage, account, WABA, PHONE) for account in accounts), return_exceptions=True
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, Binding)]
    losers = [outcome for outcome in outcomes if not isinstance(outcome, Binding)]
    assert len(winners) == 1
    assert all(isinstance(loser, PhoneNumberBoundToAnotherAccount) for loser in losers), losers
    assert await storage.list_bindings() == winners
    assert await storage.waba_owner(WABA) == winners[0].account_name


async def test_two_processes_racing_to_bind_one_waba_let_exactly_one_account_win(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as first, open_database(path) as second:
        processes = [SqliteStorage(first), SqliteStorage(second)]
        await processes[0].migrate()
        accounts = [f"account-{index:02}" for index in range(20)]
        await create_accounts(processes[0], *accounts)

        outcomes = await asyncio.gather(
            *(
                bind(processes[index % 2], account, WABA, f"26730000009{index:04}")
                for index, account in enumerate(accounts)
            ),
            return_exceptions=True,
        )

        winners = [outcome for outcome in outcomes if isinstance(outcome, Binding)]
        assert len(winners) == 1
        assert all(isinstance(outcome, WabaBoundToAnotherAccount) for outcome in outcomes if outcome not in winners)
        for process in processes:
            assert await process.list_bindings() == winners
        assert await first.fetch_all("PRAGMA integrity_check") == [("ok",)]
        assert await first.fetch_all("PRAGMA foreign_key_check") == []


_BIND_THEN_KILL = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from contextlib import asynccontextmanager
    from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database
    from tests.adapters.storage.examples import binding_of, create_accounts, snapshot_of

    async def main() -> None:
        async with asynccontextmanager(open_sqlite_database)(sys.argv[1]) as database:
            storage = SqliteStorage(database)
            await storage.migrate()
            await create_accounts(storage, "acme")
            waba, phone = sys.argv[2:4]
            await storage.add_binding(binding_of("acme", waba, phone), snapshot_of(waba, phone))
            os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


async def test_a_committed_binding_survives_the_process_being_killed(tmp_path: Path) -> None:
    path = str(tmp_path / "intwa.db")

    killed = subprocess.run(  # noqa: ASYNC221 - the child must die while this test waits for it
        [sys.executable, "-c", _BIND_THEN_KILL, path, WABA, PHONE],
        cwd=Path(__file__).parents[3],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])},
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    async with open_database(path) as database:
        storage = SqliteStorage(database)
        assert await storage.migrate() == []
        assert await storage.find_binding(PHONE) == binding_of("acme", WABA, PHONE, T0)
        assert await storage.get_snapshot(WABA) == snapshot_of(WABA, PHONE)
        assert await database.fetch_all("PRAGMA integrity_check") == [("ok",)]
