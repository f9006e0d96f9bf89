"""The callback store's contract, run against SQLite, PostgreSQL and the in-memory fake alike.

Deliveries are written as the dispatcher will leave them: straight into each backend's table (the fake's list).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intwa.adapters.storage.postgres import PostgresStorage
from intwa.adapters.storage.postgres_callbacks import PostgresCallbackStore
from intwa.adapters.storage.sqlite import SqliteStorage
from intwa.adapters.storage.sqlite_callbacks import SqliteCallbackStore
from intwa.adapters.storage.sqlite_database import utc_text
from intwa.domain.callbacks.models import (
    PREVIOUS_SECRET_SIGNS_FOR,
    CallbackSetting,
    DeliveryStats,
    LastDelivery,
)
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.errors import AccountNotFound
from intwa.domain.ports import CallbackStore, Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import empty, open_database, open_postgres
from tests.fakes.callbacks import Delivery, InMemoryCallbackStore
from tests.fakes.storage import InMemoryStorage

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.com/intwa"
INSERT_DELIVERY = """INSERT INTO deliveries (event_id, account_name, status, attempts, next_attempt_at,
    last_status, last_error, last_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass
class Backend:
    storage: Storage
    callbacks: CallbackStore
    add_delivery: Callable[[Delivery], Awaitable[None]]
    delivery_statuses: Callable[[], Awaitable[dict[str, tuple[str, str | None]]]]


@asynccontextmanager
async def sqlite_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    async with open_database(str(tmp_path / "intwa.db")) as database:

        async def add(delivery: Delivery) -> None:
            attempted = None if delivery.last_attempt_at is None else utc_text(delivery.last_attempt_at)
            async with database.transaction() as writer:
                await writer.execute(INSERT_DELIVERY, (*_columns(delivery, utc_text(T0)), attempted, utc_text(T0)))

        async def statuses() -> dict[str, tuple[str, str | None]]:
            rows = await database.fetch_all("SELECT event_id, status, last_error FROM deliveries")
            return {event_id: (status, error) for event_id, status, error in rows}

        yield Backend(SqliteStorage(database), SqliteCallbackStore(database), add, statuses)


@asynccontextmanager
async def postgres_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    dsn: str = request.getfixturevalue("postgres_database")
    async with open_postgres(Secret(dsn)) as database:
        storage = PostgresStorage(database)
        await empty(storage, database)

        async def add(delivery: Delivery) -> None:
            statement = INSERT_DELIVERY.replace("?", "${}").format(*range(1, 10))
            await database.fetch(statement, *_columns(delivery, T0), delivery.last_attempt_at, T0)

        async def statuses() -> dict[str, tuple[str, str | None]]:
            rows = await database.fetch("SELECT event_id, status, last_error FROM deliveries")
            return {row[0]: (row[1], row[2]) for row in rows}

        yield Backend(storage, PostgresCallbackStore(database), add, statuses)


@asynccontextmanager
async def memory_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    storage = InMemoryStorage()
    callbacks = InMemoryCallbackStore(storage)

    async def add(delivery: Delivery) -> None:
        callbacks.deliveries.append(delivery)

    async def statuses() -> dict[str, tuple[str, str | None]]:
        return {delivery.event_id: (delivery.status, delivery.last_error) for delivery in callbacks.deliveries}

    yield Backend(storage, callbacks, add, statuses)


def _columns(delivery: Delivery, next_attempt_at: object) -> tuple[object, ...]:
    return (
        delivery.event_id,
        delivery.account_name,
        delivery.status,
        delivery.attempts,
        next_attempt_at,
        delivery.last_status,
        delivery.last_error,
    )


BACKENDS = {"sqlite": sqlite_backend, "memory": memory_backend, "postgres": postgres_backend}


@pytest.fixture(params=list(BACKENDS))
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async with BACKENDS[request.param](request) as backend:
        await backend.storage.migrate()
        for name in ("acme", "other"):
            await backend.storage.create_account(name, f"hash-{name}", T0)
        yield backend


def setting(
    url: str = URL, types: tuple[str, ...] | None = None, *, rotate: bool = False, at_: float = 0
) -> CallbackSetting:
    return CallbackSetting(url, types, rotate, WebhookSecret.generate(), at(at_))


async def test_a_first_setting_stores_an_enabled_callback_with_the_new_secret(backend: Backend) -> None:
    first = setting(types=("waba.updated", "test.ping"))

    stored = await backend.callbacks.set_callback("acme", first)

    assert stored.secret == first.new_secret
    assert (stored.url, stored.types, stored.enabled, stored.created_at) == (
        URL,
        ("waba.updated", "test.ping"),
        True,
        T0,
    )
    assert (stored.previous_secret, stored.previous_secret_until) == (None, None)
    assert await backend.callbacks.get_callback("acme") == stored
    assert await backend.callbacks.get_callback("other") is None


async def test_setting_again_replaces_the_url_and_types_and_keeps_the_secret_and_creation_time(
    backend: Backend,
) -> None:
    first = await backend.callbacks.set_callback("acme", setting(types=("waba.updated", "test.ping")))

    again = await backend.callbacks.set_callback("acme", setting("https://new.example.com/hook", None, at_=60))

    assert (again.url, again.types, again.secret, again.created_at) == (
        "https://new.example.com/hook",
        None,
        first.secret,
        T0,
    )
    assert await backend.callbacks.get_callback("acme") == again


async def test_a_rotation_keeps_the_replaced_secret_signing_for_a_day(backend: Backend) -> None:
    first = await backend.callbacks.set_callback("acme", setting())
    rotation = setting(rotate=True, at_=3600)

    rotated = await backend.callbacks.set_callback("acme", rotation)

    assert rotated.secret == rotation.new_secret != first.secret
    assert rotated.previous_secret == first.secret
    assert rotated.previous_secret_until == at(3600) + PREVIOUS_SECRET_SIGNS_FOR
    assert await backend.callbacks.get_callback("acme") == rotated
    assert rotated.signing_secrets(at(3601)) == (rotation.new_secret, first.secret)


async def test_racing_first_settings_hand_out_one_secret(backend: Backend) -> None:
    one, two = await asyncio.gather(
        backend.callbacks.set_callback("acme", setting()), backend.callbacks.set_callback("acme", setting())
    )

    assert one.secret == two.secret
    assert (await backend.callbacks.get_callback("acme")) in (one, two)


async def test_a_callback_of_an_unknown_account_is_refused(backend: Backend) -> None:
    with pytest.raises(AccountNotFound):
        await backend.callbacks.set_callback("nobody", setting())


async def test_deleting_returns_the_callback_and_fails_its_pending_deliveries(backend: Backend) -> None:
    stored = await backend.callbacks.set_callback("acme", setting())
    await backend.add_delivery(Delivery("evt_1", "acme", "delivered", 1, at(10), 200))
    await backend.add_delivery(Delivery("evt_2", "acme", "pending", 1, at(20), 500, "HTTP 500"))
    await backend.add_delivery(Delivery("evt_3", "other", "pending"))

    assert await backend.callbacks.delete_callback("acme") == stored

    assert await backend.callbacks.get_callback("acme") is None
    assert await backend.callbacks.delete_callback("acme") is None
    assert await backend.delivery_statuses() == {
        "evt_1": ("delivered", None),
        "evt_2": ("failed", "the callback was deleted"),
        "evt_3": ("pending", None),
    }


async def test_an_account_without_deliveries_has_none_pending_failing_or_last(backend: Backend) -> None:
    assert await backend.callbacks.delivery_stats("acme") == DeliveryStats(0, 0, None)


async def test_failing_counts_the_failed_attempts_since_the_latest_successful_one(backend: Backend) -> None:
    for delivery in (
        Delivery("evt_1", "acme", "delivered", 1, at(10), 200),
        Delivery("evt_2", "acme", "failed", 7, at(20), None, "connection refused"),  # before the success below
        Delivery("evt_3", "acme", "delivered", 3, at(30), 204),  # two failed attempts, then delivered
        Delivery("evt_4", "acme", "pending", 2, at(40), 500, "the receiver answered HTTP 500"),
        Delivery("evt_5", "acme", "pending", 1, at(35), None, "no answer within 15 s"),
        Delivery("evt_6", "acme", "pending"),  # not attempted yet
        Delivery("evt_7", "other", "pending", 4, at(50), 503, "the receiver answered HTTP 503"),
    ):
        await backend.add_delivery(delivery)

    stats = await backend.callbacks.delivery_stats("acme")

    assert stats == DeliveryStats(
        pending=3, failing=3, last=LastDelivery(at(40), 500, "the receiver answered HTTP 500")
    )


async def test_failing_is_zero_once_the_latest_attempt_succeeded_and_counts_all_without_one(backend: Backend) -> None:
    await backend.add_delivery(Delivery("evt_1", "acme", "failed", 7, at(10), 500, "HTTP 500"))
    await backend.add_delivery(Delivery("evt_2", "acme", "pending", 2, at(20), None, "connection refused"))
    assert (await backend.callbacks.delivery_stats("acme")).failing == 9

    await backend.add_delivery(Delivery("evt_3", "acme", "delivered", 1, at(30), 200))

    assert await backend.callbacks.delivery_stats("acme") == DeliveryStats(1, 0, LastDelivery(at(30), 200, None))
