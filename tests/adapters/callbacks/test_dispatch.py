"""The dispatcher over a real store, the signed HTTP sender and a real receiver (SPEC §3.10).

Every delivery verifies with the `standardwebhooks` library and the secret the customer was shown; a retried
one keeps its `webhook-id`; a 410 turns the callback off; a spent schedule ends `failed`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intwa.adapters.callbacks.sender import open_callback_sender
from intwa.adapters.clock import SystemClock
from intwa.adapters.storage.postgres import PostgresStorage
from intwa.adapters.storage.postgres_callbacks import PostgresCallbackStore
from intwa.adapters.storage.postgres_deliveries import PostgresDeliveries
from intwa.adapters.storage.sqlite import SqliteStorage
from intwa.adapters.storage.sqlite_callbacks import SqliteCallbackStore
from intwa.adapters.storage.sqlite_deliveries import SqliteDeliveries
from intwa.adapters.wake_up import WakeUp
from intwa.domain.callbacks.deliveries import DeliveryRecord, DeliveryStore
from intwa.domain.callbacks.dispatch import DispatchDeliveries
from intwa.domain.callbacks.models import CallbackSetting
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.ports import CallbackStore, Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import open_database, open_postgres
from tests.adapters.storage.examples import create_accounts
from tests.adapters.storage.test_history_contract import PHONE, WABA, bound, changed, snapshot
from tests.callback_receiver import Answer, Receiver, StubResolver

LOCAL = CallbackUrlRules(allow_http=True, allow_private_targets=True)
QUICK = (0.2, 0.2, 0.2)
HOST = "receiver.test"


class ScriptedReceiver(Receiver):
    """A receiver that answers its requests with the script's answers in turn, then 200."""

    def __init__(self, *script: Answer) -> None:
        self.script = list(script)
        super().__init__()

    @property  # type: ignore[override]
    def answer(self) -> Answer:
        return self.script.pop(0) if self.script else Answer()

    @answer.setter
    def answer(self, value: Answer) -> None:
        pass


@dataclass
class World:
    storage: Storage
    callbacks: CallbackStore
    deliveries: DeliveryStore
    events_written: WakeUp
    secret: WebhookSecret

    async def records(self) -> list[DeliveryRecord]:
        return await self.deliveries.list_deliveries("acme", None)


@asynccontextmanager
async def world_of(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    wake_up = WakeUp()
    secret = WebhookSecret.generate()
    if backend == "sqlite":
        async with open_database(str(tmp_path / "intwa.db")) as database:
            storage = SqliteStorage(database, events_written=wake_up)
            await storage.migrate()
            yield World(storage, SqliteCallbackStore(database), SqliteDeliveries(database), wake_up, secret)
    else:
        async with open_postgres(Secret(request.getfixturevalue("fresh_postgres_database"))) as database:
            storage_pg = PostgresStorage(database, events_written=wake_up)
            await storage_pg.migrate()
            yield World(storage_pg, PostgresCallbackStore(database), PostgresDeliveries(database), wake_up, secret)


@pytest.fixture(params=["sqlite", "postgres"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    async with world_of(request.param, request, tmp_path) as world:
        yield world


@asynccontextmanager
async def dispatching(
    world: World, *, schedule: Sequence[float] = QUICK, max_in_flight: int = 4
) -> AsyncIterator[DispatchDeliveries]:
    resolver = StubResolver()
    resolver.always(HOST, "127.0.0.1")
    async with asynccontextmanager(open_callback_sender)(LOCAL, resolver, SystemClock(), timeout_seconds=2.0) as sender:
        dispatcher = DispatchDeliveries(
            world.deliveries,
            sender,
            SystemClock(),
            world.events_written,
            timeout_seconds=2.0,
            retry_schedule=schedule,
            max_in_flight=max_in_flight,
        )
        dispatcher.start()
        try:
            yield dispatcher
        finally:
            await dispatcher.stop()


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    receiver = ScriptedReceiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def subscribe(world: World, url: str) -> None:
    await create_accounts(world.storage, "acme")
    setting = CallbackSetting(url, None, False, world.secret, datetime.now(UTC))
    await world.callbacks.set_callback("acme", setting)


async def until(condition: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.02)


async def test_a_new_event_is_delivered_signed_within_a_second_of_its_change(
    world: World, receiver: ScriptedReceiver
) -> None:
    await subscribe(world, receiver.url(host=HOST))
    async with dispatching(world) as dispatcher:
        await asyncio.sleep(0.3)  # idle: it now waits for the wake-up, not for its five-second poll
        written = time.monotonic()
        await bound(world.storage, snapshot(WABA, PHONE))
        await until(lambda: receiver.requests)
        assert time.monotonic() - written < 1.0
        await dispatcher.settle_all()

    [received] = receiver.requests
    document = received.verified(world.secret.reveal())
    [record] = await world.records()
    assert document["type"] == "binding.created"  # type: ignore[index]
    assert received.headers["webhook-id"] == record.event_id
    assert (record.status, record.attempts, record.last_status) == ("delivered", 1, 200)


async def test_a_receiver_answering_500_twice_gets_the_same_event_three_times(world: World) -> None:
    receiver = ScriptedReceiver(Answer(500), Answer(503, {"retry-after": "0"}))
    receiver.start()
    try:
        await subscribe(world, receiver.url(host=HOST))
        async with dispatching(world):
            await bound(world.storage, snapshot(WABA, PHONE))
            await until(lambda: len(receiver.requests) == 3)
            await asyncio.sleep(0.1)
    finally:
        receiver.stop()

    assert len({received.headers["webhook-id"] for received in receiver.requests}) == 1
    assert len({received.verified(world.secret.reveal())["id"] for received in receiver.requests}) == 1  # type: ignore[index]
    [record] = await world.records()
    assert (record.status, record.attempts, record.last_status, record.last_error) == ("delivered", 3, 200, None)


async def test_a_spent_schedule_ends_failed_and_a_410_turns_the_callback_off(world: World) -> None:
    receiver = ScriptedReceiver(*[Answer(500)] * 3, Answer(410))
    receiver.start()
    try:
        await subscribe(world, receiver.url(host=HOST))
        async with dispatching(world, schedule=(0.1, 0.1), max_in_flight=1):
            first = await bound(world.storage, snapshot(WABA, PHONE))
            await until(lambda: len(receiver.requests) == 3)
            await world.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="FLAGGED"), "sync")
            await world.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), status="BANNED"), "sync")
            await until(lambda: len(receiver.requests) == 4)
            await asyncio.sleep(0.3)
    finally:
        receiver.stop()

    spent, gone, after = await world.records()
    assert (spent.status, spent.attempts, spent.last_status) == ("failed", 3, 500)
    assert (gone.status, gone.last_status) == ("failed", 410)
    assert (after.status, after.attempts) == ("failed", 0)
    callback = await world.callbacks.get_callback("acme")
    assert callback is not None
    assert not callback.enabled


async def test_an_accounts_deliveries_reach_the_receiver_in_event_order(
    world: World, receiver: ScriptedReceiver
) -> None:
    await subscribe(world, receiver.url(host=HOST))
    first = await bound(world.storage, snapshot(WABA, PHONE))
    for step in range(12):
        await world.storage.save_snapshot(changed(first, PHONE, datetime.now(UTC), verified_name=f"T{step}"), "sync")
    async with dispatching(world, max_in_flight=1):
        await until(lambda: len(receiver.requests) == 13)

    assert [r.headers["webhook-id"] for r in receiver.requests] == [r.event_id for r in await world.records()]
