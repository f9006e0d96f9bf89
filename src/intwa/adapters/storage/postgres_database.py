"""A PostgreSQL database opened for intwa: a pool of connections for queries, and one for refresh locks."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from intwa.adapters.storage.outage import StorageOutage
from intwa.adapters.storage.statements import Statements, numbered
from intwa.domain.errors import StorageUnavailable
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
ACQUIRE_TIMEOUT_SECONDS = 5.0
"""How long a query or transaction waits for a connection of the query pool (each is held for milliseconds)
before it is answered `StorageUnavailable`: past that the database is not answering, or not in time."""
CLOSE_TIMEOUT_SECONDS = 10.0


class PostgresUnavailable(StorageUnavailable):
    """The database cannot be reached or refused intwa; the message never holds the DSN or its password."""


# Server errors that mean the database cannot be used now (SQLSTATE classes 08, 53, 57P0x), with a few
# words for clients and whether reads may still work.
_UNAVAILABLE: tuple[tuple[type[Exception], str, bool], ...] = (
    (asyncpg.DiskFullError, "disk full", True),
    (asyncpg.ReadOnlySQLTransactionError, "read-only", True),  # e.g. a standby, after a failover
    (asyncpg.TooManyConnectionsError, "too many connections", False),
    (asyncpg.InsufficientResourcesError, "out of resources", False),
    (asyncpg.PostgresConnectionError, "connection lost", False),
    (asyncpg.CannotConnectNowError, "starting up or shutting down", False),
    (asyncpg.AdminShutdownError, "shut down", False),
    (asyncpg.CrashShutdownError, "shut down", False),
    (asyncpg.IdleSessionTimeoutError, "connection lost", False),
)
# What only connecting raises: the network's errors, a connect timeout, and a server refusing intwa's login.
_UNAVAILABLE_TO_CONNECT: tuple[tuple[type[Exception], str, bool], ...] = (
    (TimeoutError, "no connection in time", False),  # an OSError too: first
    (OSError, "cannot connect", False),
    (asyncpg.InvalidAuthorizationSpecificationError, "login refused", False),
    (asyncpg.InvalidCatalogNameError, "no such database", False),
)


def postgres_unavailability(error: BaseException, *, connecting: bool = False) -> tuple[str, bool] | None:
    """Why `error` means the database cannot be used now, and whether reads may still work; else None.

    With `connecting`, also what getting a connection raises. Integrity and programming errors are not.
    """
    known = (*_UNAVAILABLE, *_UNAVAILABLE_TO_CONNECT) if connecting else _UNAVAILABLE
    for kind, reason, writes_only in known:
        if isinstance(error, kind):
            return reason, writes_only
    # asyncpg's own errors on a connection or pool that was closed under it; its other `InterfaceError`s
    # (bad arguments, data it cannot encode, an operation under way) are bugs.
    if type(error) is asyncpg.InterfaceError and ("closed" in str(error) or "closing" in str(error)):
        return "connection lost", False
    return None


class PostgresDatabase:
    """The pools of one PostgreSQL database.

    Writes run in `transaction()` on a connection of their own (READ COMMITTED: each statement sees what
    was committed before it started); reads run in `fetch()`. Refresh locks take `lock_transaction()`.
    These three are where every statement of the adapter runs, so they are where a database that cannot
    be used now (connection lost or refused, shutting down, disk full) becomes `StorageUnavailable`, and
    where `outage` hears of every failure and success.
    """

    def __init__(
        self,
        pool: asyncpg.Pool[asyncpg.Record],
        lock_pool: asyncpg.Pool[asyncpg.Record],
        outage: StorageOutage | None = None,
    ) -> None:
        self._pool = pool
        self._lock_pool = lock_pool
        self.outage = outage or StorageOutage()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """A connection inside a transaction: committed on success, rolled back on any error."""
        async with self._translating(wrote=True):
            connection = await self._acquire(self._pool, ACQUIRE_TIMEOUT_SECONDS)
            try:
                async with connection.transaction():
                    yield connection
            finally:
                await self._pool.release(connection)

    @asynccontextmanager
    async def lock_transaction(self) -> AsyncIterator[Connection]:
        """A transaction on the lock pool, for transaction-scoped advisory locks held during a Meta call.

        No timeout to get a connection: a refresh waits its turn while others hold their WABAs' locks.
        It writes nothing: that it worked says nothing of a store that takes no writes.
        """
        async with self._translating(wrote=False):
            connection = await self._acquire(self._lock_pool, None)
            try:
                async with connection.transaction():
                    yield connection
            finally:
                await self._lock_pool.release(connection)

    async def fetch(self, sql: str, *arguments: Any) -> list[asyncpg.Record]:
        """The rows of one statement, on any free connection."""
        async with self._translating(wrote=False):
            connection = await self._acquire(self._pool, ACQUIRE_TIMEOUT_SECONDS)
            try:
                return await connection.fetch(sql, *arguments)
            finally:
                await self._pool.release(connection)

    async def _acquire(self, pool: asyncpg.Pool[asyncpg.Record], wait_seconds: float | None) -> Connection:
        """A connection of `pool`; what connecting raises becomes `StorageUnavailable` here."""
        try:
            async with asyncio.timeout(wait_seconds):
                return await pool.acquire()
        except Exception as error:
            unavailable = self._unavailable(error, connecting=True)
            if unavailable is None:
                raise
            raise unavailable from error

    def _translating(self, *, wrote: bool) -> _Translating:
        return _Translating(self, wrote)

    def _unavailable(self, error: BaseException, *, connecting: bool = False) -> StorageUnavailable | None:
        """`StorageUnavailable`, noted by the outage, when `error` means the database cannot be used now."""
        found = postgres_unavailability(error, connecting=connecting)
        if found is None:
            return None
        reason, writes_only = found
        return self.outage.unavailable(reason, error, writes_only=writes_only)

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


class _Translating:
    """Around one use of a connection: asyncpg's errors that mean the database cannot be used now become
    `StorageUnavailable`; a use that ends without an error tells the outage that the database answered.

    Only asyncpg's errors are looked at, so an error of the caller's block (a Meta call holding a refresh
    lock) keeps its own meaning. A class, not a generator: `fetch` runs it for every read that misses memory.
    """

    __slots__ = ("_database", "_wrote")

    def __init__(self, database: PostgresDatabase, wrote: bool) -> None:
        self._database = database
        self._wrote = wrote

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> None:
        if error is None:
            self._database.outage.answered(wrote=self._wrote)
            return
        unavailable = self._database._unavailable(error)
        if unavailable is not None:
            raise unavailable from error


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
    # Its log line names the error; hidden in it, the DSN and its password, should an error ever quote them.
    pool, lock_pool = pools
    database = PostgresDatabase(pool, lock_pool, StorageOutage(describe=partial(hide_secret, dsn=dsn)))
    try:
        yield database
    finally:
        await database.close()


async def _create_pool(dsn: Secret, size: int) -> asyncpg.Pool[asyncpg.Record]:
    # No floor of connections (`min_size=0`): asyncpg restores a floor from a task of its own, logging a
    # traceback for every failed attempt of an outage. Connections are made when a call needs one, so an
    # outage is met by calls, which report it once (`StorageOutage`); one is made now, to fail early.
    pool = await asyncpg.create_pool(
        dsn.reveal(),
        min_size=0,
        max_size=size,
        timeout=CONNECT_TIMEOUT_SECONDS,
        server_settings={"application_name": "intwa"},
    )
    try:
        await pool.execute("SELECT 1")
    except BaseException:
        pool.terminate()
        raise
    return pool


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
