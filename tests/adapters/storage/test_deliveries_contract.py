"""Deliveries on SQLite and PostgreSQL: written with their events, claimed by one worker at a time, settled.

The outbox's promise (SPEC §3.10, §7): an event commits with its delivery or neither does; a claim hands a
delivery to one worker until its lease runs out; an account's deliveries go out in event order, a few at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intwa.adapters.storage.postgres import PostgresStorage
from intwa.adapters.storage.postgres_callbacks import PostgresCallbackStore
from intwa.adapters.storage.postgres_deliveries import PostgresDeliveries
from intwa.adapters.storage.sqlite import SqliteStorage
from intwa.adapters.storage.sqlite_callbacks import SqliteCallbackStore
from intwa.adapters.storage.sqlite_deliveries import SqliteDeliveries
from intwa.domain.callbacks.deliveries import CALLBACK_DISABLED, DeliveryStore, Settlement
from intwa.domain.callbacks.models import CallbackSetting
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.ports import CallbackStore, Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import open_database, open_postgres
from tests.adapters.storage.test_history_contract import (
    OTHER_PHONE,
    OTHER_WABA,
    PHONE,
    WABA,
    bound,
    changed,
    create_accounts,
    snapshot,
)

EVER = datetime(2000, 1, 1, tzinfo=UTC)
FAR = timedelta(days=3650)
FORCED = "forced failure after the events were written"
REFUSE_DELIVERIES = {
    "sqlite": (
        f"CREATE TRIGGER refuse_deliveries BEFORE INSERT ON deliveries BEGIN SELECT RAISE(ABORT, '{FORCED}'); END",
    ),
    "postgres": (
        f"CREATE FUNCTION refuse_deliveries() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE '{FORCED}'; END $$",
        "CREATE TRIGGER refuse_deliveries BEFORE INSERT ON deliveries"
        " FOR EACH ROW EXECUTE FUNCTION refuse_deliveries()",
    ),
}


@dataclass
class Backend:
    name: str
    storage: Storage
    callbacks: CallbackStore
    deliveries: DeliveryStore
    execute: Callable[[str], object]

    async def set_callback(self, account: str = "acme", types: tuple[str, ...] | None = None) -> None:
        setting = CallbackSetting(
            "https://hooks.example.com/in", types, False, WebhookSecret.generate(), datetime.now(UTC)
        )
        await self.callbacks.set_callback(account, setting)

    async def event_ids(self, account: str = "acme") -> list[str]:
        return [event.id for event in await self.storage.read_events(account, after=None, limit=500, since=EVER) or []]

    async def delivered_ids(self, account: str | None = "acme") -> list[str]:
        return [record.event_id for record in await self.deliveries.list_deliveries(account, None)]


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    async with open_database(str(tmp_path / "intwa.db")) as database:
        storage = SqliteStorage(database)
        await storage.migrate()

        async def execute(statement: str) -> None:
            async with database.transaction() as connection:
                await connection.execute(statement)

        yield Backend("sqlite", storage, SqliteCallbackStore(database), SqliteDeliveries(database), execute)


@asynccontextmanager
async def postgres_backend(dsn: str) -> AsyncIterator[Backend]:
    async with open_postgres(Secret(dsn)) as database:
        storage = PostgresStorage(database)
        await storage.migrate()

        async def execute(statement: str) -> None:
            async with database.transaction() as connection:
                await connection.execute(statement)

        yield Backend("postgres", storage, PostgresCallbackStore(database), PostgresDeliveries(database), execute)


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        async with sqlite_backend(tmp_path) as backend:
            yield backend
    else:
        async with postgres_backend(request.getfixturevalue("fresh_postgres_database")) as backend:
            yield backend


async def with_callback(backend: Backend, types: tuple[str, ...] | None = None) -> None:
    await create_accounts(backend.storage, "acme")
    await backend.set_callback(types=types)


def settled(delivery_id: int, status: str, now: datetime, **more: object) -> Settlement:
    return Settlement(
        delivery_id=delivery_id,
        account_name="acme",
        status=status,  # type: ignore[arg-type]
        attempts=1,
        next_attempt_at=now,
        attempted_at=now,
        last_status=more.pop("last_status", 200),  # type: ignore[arg-type]
        last_error=None,
        **more,  # type: ignore[arg-type]
    )


async def test_an_event_of_an_account_with_a_callback_commits_with_its_delivery(backend: Backend) -> None:
    await with_callback(backend)
    first = await bound(backend.storage, snapshot(WABA, PHONE))
    await backend.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="FLAGGED"), "sync")

    assert await backend.delivered_ids() == await backend.event_ids()
    records = await backend.deliveries.list_deliveries("acme", "pending")
    assert [record.type for record in records] == ["binding.created", "phone_number.updated"]
    assert all(record.attempts == 0 and record.next_attempt_at <= datetime.now(UTC) for record in records)


async def test_a_failure_writing_the_delivery_leaves_neither_the_event_nor_its_cause(backend: Backend) -> None:
    await with_callback(backend)
    first = await bound(backend.storage, snapshot(WABA, PHONE))
    for statement in REFUSE_DELIVERIES[backend.name]:
        await backend.execute(statement)

    with pytest.raises(Exception, match=FORCED):
        await backend.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="FLAGGED"), "sync")

    assert await backend.storage.list_history() == []
    assert len(await backend.event_ids()) == 1  # the bind's
    assert len(await backend.delivered_ids()) == 1


async def test_events_go_to_deliveries_only_of_an_enabled_callback_that_sends_their_type(backend: Backend) -> None:
    await create_accounts(backend.storage, "acme")
    first = await bound(backend.storage, snapshot(WABA, PHONE))  # no callback yet: never delivered
    await backend.set_callback(types=("waba.updated",))
    await backend.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="FLAGGED"), "sync")
    await backend.storage.save_snapshot(changed(first, None, datetime.now(UTC), name="PT TIG"), "sync")

    records = await backend.deliveries.list_deliveries(None, None)
    assert [record.type for record in records] == ["waba.updated"]
    assert len(await backend.event_ids()) == 4  # bound, FLAGGED, back to CONNECTED with the WABA's name


async def test_a_claim_takes_each_accounts_oldest_deliveries_once_until_the_lease_runs_out(backend: Backend) -> None:
    await with_callback(backend)
    first = await bound(backend.storage, snapshot(WABA, PHONE))
    for step in range(5):
        await backend.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), verified_name=f"T{step}"), "sync")
    await create_accounts(backend.storage, "beta")
    await backend.set_callback("beta")
    await bound(backend.storage, snapshot(OTHER_WABA, OTHER_PHONE), account="beta")
    ids = await backend.delivered_ids()
    now = datetime.now(UTC)

    claimed = await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=100)
    assert [(c.account_name, c.event_id) for c in claimed if c.account_name == "acme"] == [("acme", i) for i in ids[:4]]
    assert [c.account_name for c in claimed].count("beta") == 1
    assert all(c.document is not None and c.callback is not None and c.attempts == 0 for c in claimed)
    # Leased: not again, and the window stays full until one of the four is settled.
    assert await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=100) == []
    acme = [c for c in claimed if c.account_name == "acme"]
    await backend.deliveries.settle(settled(acme[0].delivery_id, "delivered", now))
    [fifth] = await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=100)
    assert fifth.event_id == ids[4]
    # The leases run out (a worker died): the deliveries are claimed again, by whoever comes.
    later = now + timedelta(seconds=21)
    again = await backend.deliveries.claim(later, later + timedelta(seconds=20), per_account=4, limit=100)
    assert sorted(c.event_id for c in again) == sorted(
        [*ids[1:5], *(c.event_id for c in claimed if c.account_name == "beta")]
    )


async def test_a_retried_delivery_waits_for_its_time_and_a_410_fails_the_accounts_other_deliveries(
    backend: Backend,
) -> None:
    await with_callback(backend)
    first = await bound(backend.storage, snapshot(WABA, PHONE))
    await backend.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="FLAGGED"), "sync")
    now = datetime.now(UTC)
    one, two = await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=100)

    await backend.deliveries.settle(settled(one.delivery_id, "pending", now, last_status=500))
    await backend.deliveries.settle(settled(two.delivery_id, "pending", now + timedelta(seconds=30), last_status=500))
    assert [
        c.event_id for c in await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=9)
    ] == [one.event_id]

    await backend.deliveries.settle(settled(one.delivery_id, "failed", now, last_status=410, disables_callback=True))
    callback = await backend.callbacks.get_callback("acme")
    assert callback is not None
    assert not callback.enabled
    records = {record.event_id: record for record in await backend.deliveries.list_deliveries("acme", None)}
    assert records[one.event_id].status == "failed"
    assert records[one.event_id].last_status == 410
    assert (records[two.event_id].status, records[two.event_id].last_error) == ("failed", CALLBACK_DISABLED)


async def test_redelivering_makes_failed_deliveries_pending_and_due_with_their_attempts_reset(backend: Backend) -> None:
    await with_callback(backend)
    await bound(backend.storage, snapshot(WABA, PHONE))
    now = datetime.now(UTC)
    [claimed] = await backend.deliveries.claim(now, now + timedelta(seconds=20), per_account=4, limit=9)
    await backend.deliveries.settle(settled(claimed.delivery_id, "failed", now, last_status=500))
    assert await backend.deliveries.count_pending() == 0

    assert await backend.deliveries.redeliver_failed("acme", now) == 1
    assert await backend.deliveries.redeliver_failed("acme", now) == 0
    assert await backend.deliveries.redeliver_event(claimed.event_id, now) is True
    assert await backend.deliveries.redeliver_event("evt_unknown", now) is False
    [record] = await backend.deliveries.list_deliveries("acme", "pending")
    assert (record.attempts, record.status) == (0, "pending")
    assert await backend.deliveries.count_pending() == 1


async def test_instances_claiming_at_once_on_postgres_never_take_one_delivery_twice(
    fresh_postgres_database: str,
) -> None:
    async with AsyncExitStack() as stack:
        backends = [await stack.enter_async_context(postgres_backend(fresh_postgres_database)) for _ in range(3)]
        await with_callback(backends[0])
        first = await bound(backends[0].storage, snapshot(WABA, PHONE))
        for step in range(30):
            await backends[0].storage.save_snapshot(
                changed(first, PHONE, datetime.now(UTC), verified_name=f"T{step}"), "sync"
            )
        now = datetime.now(UTC)
        taken: list[str] = []
        for _ in range(40):
            claims = await asyncio.gather(
                *(b.deliveries.claim(now, now + FAR, per_account=100, limit=3) for b in backends)
            )
            taken += [c.event_id for claim in claims for c in claim]
        assert sorted(taken) == sorted(await backends[0].delivered_ids())
