"""A PostgreSQL database opened for intwa: a pool of connections for queries, and one for refresh locks."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from intwa.adapters.storage.statements import Statements, numbered
from intwa.settings import Secret

Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"

SQL = Statements(*map(numbered, Statements()))
"""The shared statements with asyncpg's numbered placeholders: numbered here, once, and never per request."""

QUERY_POOL_SIZE = 10
"""Connections for queries and transactions, per process; each lasts milliseconds."""
LOCK_POOL_SIZE = 5
"""Connections that hold refresh locks, per process. A lock is held for the length of a Meta call, so
these come from a pool of their own: slow Meta calls cannot take the connections that queries need."""
CONNECT_TIMEOUT_SECONDS = 10.0
CLOSE_TIMEOUT_SECONDS = 10.0


class PostgresUnavailable(Exception):
    """The database cannot be reached or refused intwa; the message never holds the DSN or its password."""


class PostgresDatabase:
    """The pools of one PostgreSQL database.

    Writes run in `transaction()` on a connection of their own (READ COMMITTED: each statement sees what
    was committed before it started); reads run in `fetch()`. Refresh locks take `lock_transaction()`.
    """

    def __init__(self, pool: asyncpg.Pool[asyncpg.Record], lock_pool: asyncpg.Pool[asyncpg.Record]) -> None:
        self._pool = pool
        self._lock_pool = lock_pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction: committed on success, rolled back on any error."""
        async with self._pool.acquire() as connection, connection.transaction():
            yield connection

    @asynccontextmanager
    async def lock_transaction(self) -> AsyncIterator[Connection]:
        """A transaction on the lock pool, for transaction-scoped advisory locks held during a Meta call."""
        async with self._lock_pool.acquire() as connection, connection.transaction():
            yield connection

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """The rows of one statement, on any free connection."""
        return await self._pool.fetch(sql, *arguments)

    async def close(self) -> None:
        """Close both pools, waiting a while for connections in use, then cutting them."""
        try:
            await asyncio.wait_for(asyncio.gather(self._lock_pool.close(), self._pool.close()), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            self.terminate()

    def terminate(self) -> None:
        """Cut every connection at once; the server ends their transactions and releases their locks."""
        self._lock_pool.terminate()
        self._pool.terminate()


async def open_postgres_pool(dsn: Secret) -> AsyncIterator[PostgresDatabase]:
    """Open the pools to the database at `dsn` for as long as the generator runs; a `providers.Resource`."""
    if not dsn:
        raise PostgresUnavailable(
            'storage.backend is "postgres" but storage.postgres_dsn is empty: set INTWA_STORAGE__POSTGRES_DSN '
            "to postgresql://user@host:5432/database"
        )
    pools: list[asyncpg.Pool[asyncpg.Record]] = []
    try:
        for size in (QUERY_POOL_SIZE, LOCK_POOL_SIZE):
            pools.append(await _create_pool(dsn, size))
    except Exception as error:
        for pool in pools:
            pool.terminate()
        # `from None`: the original exception, or its cause, might quote the DSN.
        raise PostgresUnavailable(f"cannot connect to PostgreSQL: {hide_secret(error, dsn)}") from None
    database = PostgresDatabase(*pools)
    try:
        yield database
    finally:
        await database.close()


async def _create_pool(dsn: Secret, size: int) -> asyncpg.Pool[asyncpg.Record]:
    return await asyncpg.create_pool(
        dsn.reveal(),
        min_size=1,
        max_size=size,
        timeout=CONNECT_TIMEOUT_SECONDS,
        server_settings={"application_name": "intwa"},
    )


def hide_secret(error: BaseException, dsn: Secret) -> str:
    """What went wrong, in one line, with the DSN and its password replaced by `***`."""
    message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    secrets = [dsn.reveal()]
    try:
        password = urlsplit(dsn.reveal()).password
    except ValueError:
        password = None
    if password:
        secrets.append(password)
    for secret in secrets:
        message = message.replace(secret, "***")
    return " ".join(message.split())


def advisory_key(namespace: str, name: str) -> int:
    """A signed 64-bit key for `pg_advisory_xact_lock`, the same in every process for one (namespace, name)."""
    digest = hashlib.blake2b(f"intwa:{namespace}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def from_timestamptz(moment: datetime) -> datetime:
    """A stored time as asyncpg reads a `timestamptz`: an aware UTC datetime already, kept as it is."""
    return moment
