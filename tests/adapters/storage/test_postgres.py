"""What only the PostgreSQL store promises: its migrations, its types, its secret DSN, and several instances on it.

An "instance" here is a `PostgresStorage` on pools of its own, as each `intwa serve` process has.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from intwa.adapters.storage.postgres import PostgresDatabase, PostgresStorage
from intwa.adapters.storage.postgres_database import SQL, PostgresUnavailable
from intwa.adapters.storage.postgres_migrations import MIGRATIONS
from intwa.adapters.storage.statements import PRUNE_BATCH_ROWS
from intwa.domain.errors import PhoneNumberBoundToAnotherAccount, StorageNotReady, WabaBoundToAnotherAccount
from intwa.domain.models import Binding, Change, WebhookEvent
from intwa.domain.ports import Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import open_postgres
from tests.adapters.storage.examples import (
    SNAPSHOT_STORED_BEFORE_HEALTH,
    T0,
    at,
    bind,
    changes_of_the_first_refresh_after_health,
    create_accounts,
    refreshed_with_health,
    snapshot_before_health,
    snapshot_of,
)

_: type[Storage] = PostgresStorage  # mypy checks that the adapter satisfies the port

WABA = "278990000057661"
PHONE = "267300000093634"
SECOND_PHONE = "267300000093635"
OTHER_WABA = "278990000057662"
OTHER_PHONE = "267300000093636"


@asynccontextmanager
async def instances(dsn: str, count: int = 2) -> AsyncIterator[list[PostgresStorage]]:
    """`count` instances on one database, each with its own pools; the first has migrated it."""
    async with AsyncExitStack() as stack:
        databases = [await stack.enter_async_context(open_postgres(Secret(dsn))) for _ in range(count)]
        storages = [PostgresStorage(database) for database in databases]
        await storages[0].migrate()
        yield storages


async def test_migrating_records_each_version_once(postgres: PostgresDatabase) -> None:
    storage = PostgresStorage(postgres)

    assert await storage.migrate() == [1, 2, 3, 4, 5, 6, 7]
    assert await storage.migrate() == []

    rows = await postgres.fetch("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    assert [row["version"] for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert rows[0]["applied_at"].utcoffset() is not None


async def test_two_instances_migrating_at_once_apply_each_version_once(fresh_postgres_database: str) -> None:
    async with (
        open_postgres(Secret(fresh_postgres_database)) as first,
        open_postgres(Secret(fresh_postgres_database)) as second,
    ):
        applied = await asyncio.gather(PostgresStorage(first).migrate(), PostgresStorage(second).migrate())

        assert sorted(applied) == [[], [1, 2, 3, 4, 5, 6, 7]]
        assert len(await first.fetch("SELECT * FROM schema_migrations")) == len(MIGRATIONS)


async def test_a_database_of_a_newer_intwa_is_refused_with_both_versions(postgres: PostgresDatabase) -> None:
    storage = PostgresStorage(postgres)
    await storage.migrate()
    known = max(migration.version for migration in MIGRATIONS)
    await postgres.fetch("INSERT INTO schema_migrations VALUES ($1, now())", known + 1)

    with pytest.raises(StorageNotReady, match=f"version {known + 1}, newer than version {known}"):
        await storage.migrate()


async def test_times_are_timestamptz_and_ids_sort_by_their_bytes_whatever_the_collation(
    postgres: PostgresDatabase,
) -> None:
    storage = PostgresStorage(postgres)
    await storage.migrate()
    await create_accounts(storage, "b", "_a", "B", "a")

    types = await postgres.fetch(
        "SELECT DISTINCT data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name IN ('created_at', 'bound_at', 'fetched_at', 'at')"
    )
    assert [row["data_type"] for row in types] == ["timestamp with time zone"]
    assert [summary.name for summary in await storage.list_accounts()] == ["B", "_a", "a", "b"]


async def test_an_accounts_snapshots_are_one_query_and_a_missing_snapshot_reads_none(
    emptied_postgres_database: str,
) -> None:
    async with open_postgres(Secret(emptied_postgres_database)) as database:
        storage = PostgresStorage(database)
        await create_accounts(storage, "acme")
        await bind(storage, "acme", WABA, PHONE)
        await bind(storage, "acme", OTHER_WABA, OTHER_PHONE, seconds=60)
        await database.fetch("DELETE FROM waba_snapshots WHERE waba_id = $1", WABA)  # a snapshot row gone

        assert await storage.account_snapshots("acme") == [
            (WABA, None),
            (OTHER_WABA, snapshot_of(OTHER_WABA, OTHER_PHONE)),
        ]


async def test_a_snapshot_stored_before_health_reads_unknown_and_the_first_refresh_records_metas_values(
    emptied_postgres_database: str,
) -> None:
    async with open_postgres(Secret(emptied_postgres_database)) as database:
        storage = PostgresStorage(database)
        await create_accounts(storage, "acme")
        await bind(storage, "acme", WABA, PHONE)
        update = "UPDATE waba_snapshots SET snapshot = $1::jsonb WHERE waba_id = $2"
        await database.fetch(update, SNAPSHOT_STORED_BEFORE_HEALTH, WABA)

        old = await storage.get_snapshot(WABA)
        changes = await storage.save_snapshot(refreshed_with_health(snapshot_before_health(), at(60)), "sync")

        assert old == snapshot_before_health()
        refreshed = refreshed_with_health(snapshot_before_health(), at(60))
        assert await storage.account_snapshots("acme") == [(WABA, refreshed)]
        assert changes == changes_of_the_first_refresh_after_health(at(60))


async def test_pruning_more_webhook_events_than_a_batch_deletes_them_all_through_the_time_index(
    emptied_postgres_database: str,
) -> None:
    async with open_postgres(Secret(emptied_postgres_database)) as database:
        storage = PostgresStorage(database)
        old_events = PRUNE_BATCH_ROWS * 2 + 500
        await database.fetch(
            "INSERT INTO webhook_events (fingerprint, received_at, object_id, waba_id, field, event, payload)"
            " SELECT 'sha256:' || n, $1::timestamptz - n * interval '1 second', $2, $2, 'account_update', NULL, '{}'"
            " FROM generate_series(1, $3::integer) AS n",
            T0,
            WABA,
            old_events,
        )
        async with database.transaction() as connection:
            await connection.execute("SET LOCAL enable_seqscan = off")  # as on a table too big to scan
            plan = await connection.fetch(f"EXPLAIN {SQL.prune_webhook_events}", T0, PRUNE_BATCH_ROWS)
        kept = WebhookEvent(T0, WABA, WABA, "account_update", None, "{}", "sha256:kept")
        await storage.record_webhook_event(kept)

        assert await storage.prune_webhook_events(T0) == old_events

        assert await storage.list_webhook_events() == [kept]
        assert "webhook_events_by_time" in "\n".join(row[0] for row in plan)


async def test_two_instances_racing_to_bind_one_phone_number_let_exactly_one_account_win(
    emptied_postgres_database: str,
) -> None:
    async with instances(emptied_postgres_database) as (first, second):
        accounts = [f"race-{index:02}" for index in range(20)]
        await create_accounts(first, *accounts)

        outcomes = await asyncio.gather(
            *(bind((first, second)[index % 2], account, WABA, PHONE) for index, account in enumerate(accounts)),
            return_exceptions=True,
        )

        winners = [outcome for outcome in outcomes if isinstance(outcome, Binding)]
        losers = [outcome for outcome in outcomes if not isinstance(outcome, Binding)]
        assert len(winners) == 1
        assert all(isinstance(loser, PhoneNumberBoundToAnotherAccount) for loser in losers), losers
        for instance in (first, second):
            assert await instance.list_bindings() == winners
            assert await instance.waba_owner(WABA) == winners[0].account_name


async def test_two_instances_racing_to_bind_numbers_of_one_waba_let_exactly_one_account_win(
    emptied_postgres_database: str,
) -> None:
    async with instances(emptied_postgres_database) as (first, second):
        accounts = [f"race-{index:02}" for index in range(20)]
        await create_accounts(first, *accounts)

        outcomes = await asyncio.gather(
            *(
                bind((first, second)[index % 2], account, WABA, f"26730000009{index:04}")
                for index, account in enumerate(accounts)
            ),
            return_exceptions=True,
        )

        winners = [outcome for outcome in outcomes if isinstance(outcome, Binding)]
        assert len(winners) == 1
        assert all(isinstance(outcome, WabaBoundToAnotherAccount) for outcome in outcomes if outcome not in winners)
        assert await second.list_bindings() == winners


async def test_binding_a_number_while_another_instance_unbinds_the_last_one_keeps_the_waba_consistent(
    emptied_postgres_database: str,
) -> None:
    async with instances(emptied_postgres_database) as (first, second):
        await create_accounts(first, "acme")
        for round_ in range(15):
            phones = [f"1{round_:03}", f"2{round_:03}"]
            await bind(first, "acme", WABA, phones[0])

            # One instance unbinds the WABA's only number while the other binds a second one.
            removed, added = await asyncio.gather(
                first.remove_binding("acme", WABA, phones[0]), bind(second, "acme", WABA, phones[1])
            )

            assert (removed.phone_number_id, added.phone_number_id) == tuple(phones)
            assert [binding.phone_number_id for binding in await first.list_bindings()] == [phones[1]]
            assert await first.waba_owner(WABA) == "acme"
            assert await first.get_snapshot(WABA) is not None
            await first.remove_binding("acme", WABA, phones[1])


async def test_racing_snapshot_writers_of_two_instances_record_each_change_once(emptied_postgres_database: str) -> None:
    async with instances(emptied_postgres_database) as (first, second):
        await create_accounts(first, "acme")
        await bind(first, "acme", WABA, PHONE)

        returned: list[Change] = []
        for round_ in range(1, 11):
            renamed = snapshot_of(WABA, PHONE, name=f"PT TIG TECH {round_}", fetched_at=at(round_))
            outcomes = await asyncio.gather(
                *(instance.save_snapshot(renamed, "sync") for instance in (first, second) * 2)
            )
            assert sorted(len(changes) for changes in outcomes) == [0, 0, 0, 1]
            returned.extend(change for changes in outcomes for change in changes)

        assert await second.list_history() == returned


async def test_a_bind_cancelled_at_any_point_stores_all_or_nothing(emptied_postgres_database: str) -> None:
    async with instances(emptied_postgres_database, count=1) as (storage,):
        await create_accounts(storage, "acme")

        for ticks in range(0, 60, 3):  # lands before, inside and after the commit
            waba_id, phone_number_id = f"9{ticks:03}", f"1{ticks:03}"
            task = asyncio.create_task(bind(storage, "acme", waba_id, phone_number_id))
            for _ in range(ticks):
                await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

            await create_accounts(storage, f"after-{ticks}")  # the pool still serves writes
            bound = await storage.find_binding(phone_number_id) is not None
            assert bound == (await storage.waba_owner(waba_id) == "acme")
            assert bound == (await storage.get_snapshot(waba_id) is not None)


async def test_an_empty_dsn_is_refused_with_the_setting_to_use() -> None:
    with pytest.raises(PostgresUnavailable, match="INTWA_STORAGE__POSTGRES_DSN"):
        async with open_postgres(Secret("")):
            pass


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://intwa:pa55-w0rd-XYZ@127.0.0.1:1/intwa",  # nobody listens there
        "postgresql://intwa:pa55-w0rd-XYZ@127.0.0.1:notaport/intwa",  # malformed
        "mysql://intwa:pa55-w0rd-XYZ@127.0.0.1/intwa",
    ],
    ids=["unreachable", "malformed", "wrong-scheme"],
)
async def test_an_unusable_dsn_is_reported_without_its_password(dsn: str) -> None:
    with pytest.raises(PostgresUnavailable, match="cannot connect to PostgreSQL") as raised:
        async with open_postgres(Secret(dsn)):
            pass

    assert "pa55-w0rd-XYZ" not in str(raised.value)
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__
