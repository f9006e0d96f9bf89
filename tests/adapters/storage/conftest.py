"""Storage backends for the contract suite, and an open SQLite database for the SQLite tests.

A backend is an async context manager factory taking `tmp_path`; adding one to `BACKENDS` runs the
whole contract suite against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.storage.read_cache import ReadCachingStorage
from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage, open_sqlite_database
from intwa.domain.ports import Storage
from tests.fakes.storage import InMemoryStorage

open_database = asynccontextmanager(open_sqlite_database)
"""`open_sqlite_database` as the container's Resource uses it: open, yield, close."""


@asynccontextmanager
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    async with open_database(str(tmp_path / "intwa.db")) as database:
        yield SqliteStorage(database)


@asynccontextmanager
async def memory_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    yield InMemoryStorage()


@asynccontextmanager
async def cached_sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    """SQLite behind the one-second memory layer, as the container wires it: it must keep the contract."""
    async with sqlite_storage(tmp_path) as storage:
        yield ReadCachingStorage(storage)


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[Storage]]] = {
    "sqlite": sqlite_storage,
    "memory": memory_storage,
    "cached-sqlite": cached_sqlite_storage,
}


@pytest.fixture(params=list(BACKENDS))
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """A migrated, empty store of each backend."""
    async with BACKENDS[request.param](tmp_path) as storage:
        await storage.migrate()
        yield storage


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    async with open_database(str(tmp_path / "intwa.db")) as database:
        yield database
