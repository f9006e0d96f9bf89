"""Rate limiters for the contract suite; adding one to `LIMITERS` runs the whole suite against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.rate_limit.memory import MemoryRateLimiter
from intwa.adapters.rate_limit.postgres import PostgresRateLimiter
from intwa.adapters.rate_limit.sqlite import open_sqlite_rate_limiter
from intwa.adapters.storage.postgres import open_postgres_pool
from intwa.adapters.storage.postgres_migrations import apply_migrations
from intwa.domain.ports import RateLimiter
from intwa.settings import Secret

open_rate_limiter = asynccontextmanager(open_sqlite_rate_limiter)
"""`open_sqlite_rate_limiter` as the container's Resource uses it: open, yield, close."""
open_postgres = asynccontextmanager(open_postgres_pool)


@asynccontextmanager
async def sqlite_limiter(tmp_path: Path) -> AsyncIterator[RateLimiter]:
    async with open_rate_limiter(str(tmp_path / "intwa.db")) as limiter:
        yield limiter


@asynccontextmanager
async def memory_limiter(tmp_path: Path) -> AsyncIterator[RateLimiter]:
    yield MemoryRateLimiter()


@asynccontextmanager
async def postgres_limiter(dsn: str) -> AsyncIterator[RateLimiter]:
    """A limiter on a fresh, migrated PostgreSQL database of this test's own."""
    async with open_postgres(Secret(dsn)) as database:
        await apply_migrations(database)
        limiter = PostgresRateLimiter(database)
        yield limiter
        await limiter.close()


LIMITERS: dict[str, Callable[[Path], AbstractAsyncContextManager[RateLimiter]]] = {
    "sqlite": sqlite_limiter,
    "memory": memory_limiter,
}


@pytest.fixture(params=[*LIMITERS, "postgres"])
async def limiter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RateLimiter]:
    if request.param == "postgres":
        context = postgres_limiter(request.getfixturevalue("fresh_postgres_database"))
    else:
        context = LIMITERS[request.param](tmp_path)
    async with context as limiter:
        yield limiter
