"""How intwa instances on one PostgreSQL database take turns to refresh a WABA when one of them dies (SPEC §3.7).

A refresh lock is a transaction's advisory lock: it ends with the holder's connection, so a killed
instance leaves no lock behind for the others to wait out.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from contextlib import AsyncExitStack

from intwa.adapters.storage.postgres import PostgresStorage
from intwa.domain.ports import Storage
from intwa.settings import Secret
from tests.adapters.storage.conftest import open_postgres
from tests.adapters.storage.examples import bind, create_accounts, snapshot_of
from tests.adapters.storage.holders import POSTGRES_HOLDER, holding_child

WABA = "278990000057661"
PHONE = "267300000093634"

AT_ONCE_SECONDS = 0.5
"""Within `cache.refresh_wait_seconds` (1 s by default) with room to spare: the server ends a dead
client's session as soon as its socket closes."""


async def test_the_refresh_lock_of_an_instance_that_dies_is_released_to_the_others(
    emptied_postgres_database: str,
) -> None:
    async with (
        open_postgres(Secret(emptied_postgres_database)) as survivor_database,
        open_postgres(Secret(emptied_postgres_database)) as dying_database,
        AsyncExitStack() as cleanup,
    ):
        survivor, dying = PostgresStorage(survivor_database), PostgresStorage(dying_database)
        await create_accounts(survivor, "acme")
        await bind(survivor, "acme", WABA, PHONE)
        held = asyncio.Event()

        async def hold_forever() -> None:
            async with dying.lock_refresh(WABA):
                held.set()
                await asyncio.Event().wait()

        holder = asyncio.create_task(hold_forever())
        cleanup.push_async_callback(_cancelled, holder)
        await held.wait()
        waiter = asyncio.create_task(_enter_and_leave(survivor))
        await asyncio.sleep(0.1)
        assert not waiter.done()

        dying_database.terminate()  # the process is killed: its connections drop, and its locks with them
        async with asyncio.timeout(5):
            assert await waiter == snapshot_of(WABA, PHONE)


async def test_the_refresh_lock_of_a_process_killed_mid_refresh_is_taken_at_once(
    emptied_postgres_database: str,
) -> None:
    async with open_postgres(Secret(emptied_postgres_database)) as database:
        storage = PostgresStorage(database)
        await create_accounts(storage, "acme")
        await bind(storage, "acme", WABA, PHONE)
        async with holding_child(POSTGRES_HOLDER, emptied_postgres_database, WABA) as child:
            waiter = asyncio.create_task(_enter_and_leave(storage))
            await asyncio.sleep(0.1)
            assert not waiter.done()

            child.kill()
            killed_at = time.monotonic()
            async with asyncio.timeout(5):
                assert await waiter == snapshot_of(WABA, PHONE)
            taken_after = time.monotonic() - killed_at
            assert await child.wait() == -signal.SIGKILL

    assert taken_after < AT_ONCE_SECONDS, taken_after


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _enter_and_leave(storage: Storage) -> object:
    async with storage.lock_refresh(WABA) as snapshot:
        return snapshot
