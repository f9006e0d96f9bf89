"""Storage backends for the contract suite, and open databases for the SQLite and PostgreSQL tests.

A backend is an async context manager factory taking the test's `request`; adding one to `BACKENDS` runs
the whole contract suite against it. The PostgreSQL backends share one database per test session,
emptied before each test; without a server they are skipped (in CI: failed, see `tests/postgres.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.storage.postgres import PostgresDatabase, PostgresStorage, open_postgres_pool
from intwa.adapters.storage.read_cache import ReadCachingStorage
from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage, open_sqlite_database
from intwa.domain.ports import Storage
from intwa.settings import Secret
from tests.fakes.storage import InMemoryStorage

open_database = asynccontextmanager(open_sqlite_database)
"""`open_sqlite_database` as the container's Resource uses it: open, yield, close."""
open_postgres = asynccontextmanager(open_postgres_pool)
"""`open_postgres_pool` as the container's Resource uses it."""

# Children before parents. DELETE, not TRUNCATE: on tables this small it is ten times faster.
_TABLES = (
    "bindings",
    "waba_snapshots",
    "wabas",
    "api_keys",
    "deliveries",
    "callbacks",
    "accounts",
    "history",
    "webhook_events",
    "sync_claims",
    "customer_events",
    "event_sequences",
)


@asynccontextmanager
async def sqlite_storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    async with open_database(str(tmp_path / "intwa.db")) as database:
        yield SqliteStorage(database)


@asynccontextmanager
async def memory_storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    yield InMemoryStorage()


@asynccontextmanager
async def postgres_storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """The session's PostgreSQL database, migrated and emptied: a test sees no other test's rows."""
    dsn: str = request.getfixturevalue("postgres_database")
    async with open_postgres(Secret(dsn)) as database:
        storage = PostgresStorage(database)
        await empty(storage, database)
        yield storage


async def empty(storage: PostgresStorage, database: PostgresDatabase) -> None:
    """Migrate the database and delete every row."""
    await storage.migrate()
    async with database.transaction() as connection:
        for table in _TABLES:
            await connection.execute(f"DELETE FROM {table}")  # noqa: S608 - the names are constants


@asynccontextmanager
async def cached_sqlite_storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """SQLite behind the one-second memory layer, as the container wires it: it must keep the contract."""
    async with sqlite_storage(request) as storage:
        yield ReadCachingStorage(storage)


@asynccontextmanager
async def cached_postgres_storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """PostgreSQL behind the one-second memory layer, as the container wires it."""
    async with postgres_storage(request) as storage:
        yield ReadCachingStorage(storage)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest], AbstractAsyncContextManager[Storage]]] = {
    "sqlite": sqlite_storage,
    "memory": memory_storage,
    "cached-sqlite": cached_sqlite_storage,
    "postgres": postgres_storage,
    "cached-postgres": cached_postgres_storage,
}


@pytest.fixture(params=list(BACKENDS))
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    """A migrated, empty store of each backend."""
    async with BACKENDS[request.param](request) as storage:
        await storage.migrate()
        yield storage


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with open_database(str(tmp_path / "intwa.db")) as database:
        yield database


@pytest.fixture
async def postgres(fresh_postgres_database: str) -> AsyncIterator[PostgresDatabase]:
    """An empty PostgreSQL database of this test's own, not migrated."""
    async with open_postgres(Secret(fresh_postgres_database)) as database:
        yield database


@pytest.fixture
async def emptied_postgres_database(postgres_database: str) -> str:
    """The DSN of the session's PostgreSQL database, migrated and emptied for this test."""
    async with open_postgres(Secret(postgres_database)) as database:
        await empty(PostgresStorage(database), database)
    return postgres_database
