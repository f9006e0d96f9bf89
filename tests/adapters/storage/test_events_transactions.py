"""Customer events and their causes share one transaction, on SQLite and PostgreSQL (SPEC §3.10, §7).

A failure after the history row (or binding, or webhook event) is written and before the transaction
commits leaves neither; the in-process signal hears of events only once they are committed; and writers
on several PostgreSQL instances number a WABA's events without gaps or repeats.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from intwa.adapters.storage.postgres import PostgresStorage
from intwa.adapters.storage.postgres_database import advisory_key
from intwa.adapters.storage.sqlite import SqliteStorage
from intwa.domain.models import CustomerEvent, WebhookEvent
from intwa.domain.ports import Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import open_database, open_postgres
from tests.adapters.storage.examples import at, binding_of
from tests.adapters.storage.test_history_contract import OTHER_PHONE, OTHER_WABA, PHONE, SECOND_PHONE, WABA, bound
from tests.adapters.storage.test_history_contract import changed as changed_snapshot
from tests.adapters.storage.test_history_contract import snapshot as full_snapshot

EVER = datetime(2000, 1, 1, tzinfo=UTC)
FORCED = "forced failure after the cause was written"
REFUSE_EVENTS = {
    "sqlite": (
        f"CREATE TRIGGER refuse_events BEFORE INSERT ON customer_events BEGIN SELECT RAISE(ABORT, '{FORCED}'); END",
    ),
    "postgres": (
        f"CREATE FUNCTION refuse_events() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE '{FORCED}'; END $$",
        "CREATE TRIGGER refuse_events BEFORE INSERT ON customer_events FOR EACH ROW EXECUTE FUNCTION refuse_events()",
    ),
}


class SignalSpy:
    """An `EventsWritten` that, each time it is notified, reads the account's events through another store.

    `committed` (when given) says at the moment of the notification whether the writer's transaction has ended.
    """

    def __init__(self, reader: Storage, committed: Callable[[], bool] | None = None) -> None:
        self.reader = reader
        self.committed = committed
        self.reads: list[asyncio.Task[list[CustomerEvent] | None]] = []
        self.ended_before: list[bool] = []

    def notify(self) -> None:
        if self.committed is not None:
            self.ended_before.append(self.committed())
        self.reads.append(asyncio.ensure_future(self.reader.read_events("acme", after=None, limit=100, since=EVER)))

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 - the port's signature
        return False

    async def seen(self) -> list[int]:
        """How many events each read found."""
        return [len(events or []) for events in await asyncio.gather(*self.reads)]


class Backend:
    """A store with a spy signal, a second store on the same database, and raw SQL on it."""

    def __init__(self, name: str, storage: Storage, spy: SignalSpy, execute: Callable[[str], object]) -> None:
        self.name = name
        self.storage = storage
        self.spy = spy
        self._execute = execute

    async def refuse_events(self) -> None:
        for statement in REFUSE_EVENTS[self.name]:
            await self._execute(statement)  # type: ignore[misc]


@asynccontextmanager
async def sqlite_backend(tmp_path: Path) -> AsyncIterator[Backend]:
    path = str(tmp_path / "intwa.db")
    async with open_database(path) as database, open_database(path) as other:
        reader = SqliteStorage(other)
        spy = SignalSpy(reader, committed=lambda: not database._writer.in_transaction)
        storage = SqliteStorage(database, events_written=spy)
        await storage.migrate()

        async def execute(statement: str) -> None:
            async with database.transaction() as connection:
                await connection.execute(statement)

        yield Backend("sqlite", storage, spy, execute)


@asynccontextmanager
async def postgres_backend(dsn: str) -> AsyncIterator[Backend]:
    async with open_postgres(Secret(dsn)) as database, open_postgres(Secret(dsn)) as other:
        spy = SignalSpy(PostgresStorage(other))
        storage = PostgresStorage(database, events_written=spy)
        await storage.migrate()

        async def execute(statement: str) -> None:
            async with database.transaction() as connection:
                await connection.execute(statement)

        yield Backend("postgres", storage, spy, execute)


@pytest.fixture(params=["sqlite", "postgres"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        async with sqlite_backend(tmp_path) as backend:
            yield backend
    else:
        async with postgres_backend(request.getfixturevalue("fresh_postgres_database")) as backend:
            yield backend


def account_update(fingerprint: str, waba_id: str = WABA) -> WebhookEvent:
    value = '{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"}}'
    return WebhookEvent(datetime.now(UTC), waba_id, waba_id, "account_update", "ACCOUNT_VIOLATION", value, fingerprint)


async def test_a_failure_after_the_history_row_leaves_neither_the_change_nor_its_event(backend: Backend) -> None:
    storage = backend.storage
    first = await bound(storage, full_snapshot(WABA, PHONE))
    before = await storage.read_events("acme", after=None, limit=10, since=EVER)
    await backend.refuse_events()

    with pytest.raises(Exception, match=FORCED):
        await storage.save_snapshot(changed_snapshot(first, PHONE, at(60), status="FLAGGED"), "sync")
    with pytest.raises(Exception, match=FORCED):
        await storage.set_waba_review_status(WABA, "REJECTED", at(60), "webhook")

    assert await storage.list_history() == []
    assert await storage.get_snapshot(WABA) == first
    assert await storage.read_events("acme", after=None, limit=10, since=EVER) == before
    assert len(backend.spy.reads) == 1  # the bind's


async def test_a_failure_after_a_binding_or_a_webhook_event_is_written_leaves_neither(backend: Backend) -> None:
    storage = backend.storage
    first = await bound(storage, full_snapshot(WABA, PHONE, SECOND_PHONE))
    await backend.refuse_events()

    with pytest.raises(Exception, match=FORCED):
        await storage.add_binding(binding_of("acme", WABA, SECOND_PHONE, at(60)), first)
    with pytest.raises(Exception, match=FORCED):
        await storage.remove_binding("acme", WABA, PHONE)
    with pytest.raises(Exception, match=FORCED):
        await storage.record_webhook_event(account_update("sha256:violation"))

    assert [binding.phone_number_id for binding in await storage.list_bindings()] == [PHONE]
    assert await storage.list_webhook_events() == []
    assert len(await storage.read_events("acme", after=None, limit=10, since=EVER) or []) == 1
    assert len(backend.spy.reads) == 1


async def test_the_signal_hears_of_events_once_they_are_committed_and_only_of_writes_with_events(
    backend: Backend,
) -> None:
    storage = backend.storage
    first = await bound(storage, full_snapshot(WABA, PHONE))

    await storage.save_snapshot(changed_snapshot(first, PHONE, at(60), status="FLAGGED"), "sync")
    await storage.save_snapshot(changed_snapshot(first, PHONE, at(90), status="FLAGGED"), "sync")  # nothing new
    await storage.record_webhook_event(account_update("sha256:violation"))
    await storage.create_account("other", "hash-of-other", at(0))

    # Each read, started by a notification, found every event of the write that notified it.
    assert await backend.spy.seen() == [1, 2, 3]
    assert all(backend.spy.ended_before)


async def test_writers_on_two_postgres_instances_number_a_wabas_events_without_gaps(
    fresh_postgres_database: str,
) -> None:
    async with AsyncExitStack() as stack:
        databases = [await stack.enter_async_context(open_postgres(Secret(fresh_postgres_database))) for _ in "ab"]
        one, two = (PostgresStorage(database) for database in databases)
        await one.migrate()
        first = await bound(one, full_snapshot(WABA, PHONE))
        await bound(two, full_snapshot(OTHER_WABA, OTHER_PHONE))

        # Both WABAs, from both instances at once: a third of the account updates are of the other WABA.
        writes = [
            (one, two)[index % 2].record_webhook_event(
                account_update(f"sha256:{index}", waba_id=OTHER_WABA if index % 3 == 0 else WABA)
            )
            for index in range(60)
        ]
        writes += [
            (one, two)[step % 2].save_snapshot(
                changed_snapshot(first, PHONE, at(step), verified_name=f"TIG {step}"), "sync"
            )
            for step in range(1, 21)
        ]
        await asyncio.gather(*writes)

        feed = await one.read_events("acme", after=None, limit=500, since=EVER)
        assert feed is not None
        for waba_id in (WABA, OTHER_WABA):
            sequences = [event.sequence for event in feed if event.waba_id == waba_id]
            assert sequences == list(range(1, len(sequences) + 1))
        assert len(feed) == 2 + 60 + sum(1 for event in feed if event.type == "phone_number.updated")


async def test_an_accounts_events_are_written_one_transaction_at_a_time_on_postgres(
    fresh_postgres_database: str,
) -> None:
    """So the feed's order is the order in which they commit: a reader going on from its last event misses none."""
    async with open_postgres(Secret(fresh_postgres_database)) as database:
        storage = PostgresStorage(database)
        await storage.migrate()
        await bound(storage, full_snapshot(WABA, PHONE))
        await bound(storage, full_snapshot(OTHER_WABA, OTHER_PHONE))
        holder = await asyncpg.connect(fresh_postgres_database)
        try:
            writing = holder.transaction()
            await writing.start()
            await holder.execute("SELECT pg_advisory_xact_lock($1)", advisory_key("events", "acme"))

            blocked = asyncio.ensure_future(storage.record_webhook_event(account_update("sha256:1", OTHER_WABA)))
            done, _ = await asyncio.wait({blocked}, timeout=0.3)
            assert not done
            await writing.commit()
            assert await blocked is True
        finally:
            await holder.close()
