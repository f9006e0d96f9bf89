"""One SQLite file opened for intwa: a writer connection that every write goes through, and a reader."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from intwa.adapters.storage.outage import StorageOutage
from intwa.adapters.storage.private_files import create_private_file
from intwa.adapters.storage.rows import aware_utc
from intwa.adapters.storage.statements import Statements
from intwa.domain.errors import StorageNotReady, StorageUnavailable

SQL = Statements()
"""The shared statements, as SQLite takes them."""

_SHARED_PRAGMAS = ("PRAGMA busy_timeout = 5000", "PRAGMA foreign_keys = ON")
# FULL syncs the WAL on every commit, so a committed binding survives a crash or a power loss.
WRITER_PRAGMAS = (*_SHARED_PRAGMAS, "PRAGMA synchronous = FULL")
READER_PRAGMAS = (*_SHARED_PRAGMAS, "PRAGMA query_only = ON")

# SQLite's primary result codes that mean the file cannot be used now, with a few words for clients and
# whether reads may still work: a full disk or a write lock held by another process stop only writes.
_UNAVAILABLE: dict[int, tuple[str, bool]] = {
    sqlite3.SQLITE_FULL: ("disk full", True),
    sqlite3.SQLITE_READONLY: ("read-only", True),
    sqlite3.SQLITE_BUSY: ("database locked", True),
    sqlite3.SQLITE_LOCKED: ("database locked", True),
    sqlite3.SQLITE_IOERR: ("I/O error", False),
    sqlite3.SQLITE_CANTOPEN: ("cannot open the database file", False),
    sqlite3.SQLITE_PROTOCOL: ("locking protocol error", False),
}


def sqlite_unavailability(error: BaseException) -> tuple[str, bool] | None:
    """Why `error` means the SQLite file cannot be used now, and whether reads may still work; else None.

    Integrity and programming errors (a constraint, a missing table, a syntax error) are not.
    """
    if not isinstance(error, sqlite3.OperationalError):
        return None
    return _UNAVAILABLE.get(error.sqlite_errorcode & 0xFF)


class SqliteDatabase:
    """The connections to one SQLite file in WAL mode.

    Writes run in `transaction()`: one at a time on the writer connection, each inside
    `BEGIN IMMEDIATE` … `COMMIT`. Reads run on the reader connection and see committed data only.
    These two are where every statement of the adapter runs, so they are where a file that cannot be
    used now (disk full, I/O error, locked past the busy timeout) becomes `StorageUnavailable`, and where
    `outage` hears of every failure and success.
    """

    def __init__(
        self, writer: aiosqlite.Connection, reader: aiosqlite.Connection, outage: StorageOutage | None = None
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self.outage = outage or StorageOutage()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer inside an immediate transaction: committed on success, rolled back on any error."""
        async with self._write_lock:
            try:
                # IMMEDIATE takes the file's write lock up front (waiting up to busy_timeout for other
                # processes), so what the transaction reads stays true until it commits.
                await self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
                await self._writer.execute("COMMIT")
            except BaseException as error:
                await self._roll_back()
                unavailable = self._unavailable(error)
                if unavailable is None:
                    raise
                raise unavailable from error
        self.outage.answered(wrote=True)

    async def fetch_all(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        """The rows of one statement run on the reader connection."""
        try:
            rows = list(await self._reader.execute_fetchall(sql, parameters))
        except sqlite3.OperationalError as error:
            unavailable = self._unavailable(error)
            if unavailable is None:
                raise
            raise unavailable from error
        self.outage.answered(wrote=False)
        return rows

    def _unavailable(self, error: BaseException) -> StorageUnavailable | None:
        found = sqlite_unavailability(error)
        if found is None:
            return None
        reason, writes_only = found
        return self.outage.unavailable(reason, error, writes_only=writes_only)

    async def _roll_back(self) -> None:
        # The writer runs statements in order, so this follows whatever the failed transaction queued;
        # SQLite may have rolled back already (or BEGIN failed), or the connection is closed (aiosqlite's
        # ValueError): each leaves nothing to undo, and the transaction's own error is the one to see.
        with contextlib.suppress(sqlite3.OperationalError, ValueError):
            await self._writer.execute("ROLLBACK")


async def fetch_together(connection: aiosqlite.Connection, *statements: tuple[str, tuple[Any, ...]]) -> list[list[Any]]:
    """The rows of statements that need nothing from each other, run in order, queued to the thread at once.

    aiosqlite runs a connection's calls one after another in the order they were queued; awaiting each
    before queuing the next costs a wake-up of its thread apiece (about 0.1 ms on a virtual machine).
    Every statement runs; then the first failure is raised, and a transaction around them rolls back.
    """
    results = await asyncio.gather(
        *(connection.execute_fetchall(sql, parameters) for sql, parameters in statements), return_exceptions=True
    )
    rows: list[list[Any]] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        rows.append(list(result))
    return rows


async def open_sqlite_database(path: str, *, create: bool = True) -> AsyncIterator[SqliteDatabase]:
    """Open the SQLite file at `path` for as long as the generator runs; a `providers.Resource`.

    With `create`, makes the parent folders (0700) and the file (0600) when they do not exist (SPEC §7:
    SQLite gives the `-wal` and `-shm` files the mode of the database). Without it (every command but
    `serve` and `db migrate`, SPEC §4) a missing file is `StorageNotReady` and nothing is made: the file
    is opened read-write but never created. Switches the file to WAL mode and sets the connections' pragmas.
    """
    if path == ":memory:":
        raise ValueError("SQLite storage needs a file: the reader and writer must share one database")
    if create:
        create_private_file(Path(path))
        target = path
    else:
        target = existing_file_uri(path)
    # aiosqlite leaves its worker thread behind when a connection fails to open, and that thread later
    # reports to a closed event loop; the plain module finds an unopenable file first.
    sqlite3.connect(target, uri=not create).close()
    async with AsyncExitStack() as stack:
        writer = await _connect(stack, target, WRITER_PRAGMAS, uri=not create)
        reader = await _connect(stack, target, READER_PRAGMAS, uri=not create)
        yield SqliteDatabase(writer, reader)


def existing_file_uri(path: str) -> str:
    """A URI that opens the database at `path` read-write and never creates it; `StorageNotReady` if it is missing.

    Checked first for the message; `mode=rw` keeps a file removed meanwhile from being made again.
    """
    if not Path(path).exists():
        raise StorageNotReady(f"the SQLite database {path} does not exist: create it with `intwa db migrate`")
    return Path(path).absolute().as_uri() + "?mode=rw"


async def _connect(
    stack: AsyncExitStack, path: str, pragmas: Iterable[str], *, uri: bool = False
) -> aiosqlite.Connection:
    # isolation_level=None: the sqlite3 module opens no transactions of its own; `transaction()` does.
    connection = await aiosqlite.connect(path, isolation_level=None, uri=uri)
    stack.push_async_callback(connection.close)
    for pragma in pragmas:
        await connection.execute_fetchall(pragma)
    # Setting WAL waits for the busy timeout too, so it comes after the pragmas; it is a property of
    # the file, and SQLite silently keeps the old mode where WAL is impossible (e.g. some network mounts).
    [(mode,)] = await connection.execute_fetchall("PRAGMA journal_mode = WAL")
    if mode != "wal":
        raise RuntimeError(f"SQLite file {path} cannot use WAL mode (journal mode is {mode})")
    return connection


def utc_text(moment: datetime) -> str:
    """An aware datetime as RFC 3339 UTC text of fixed width, so that text order is time order."""
    return aware_utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


def from_utc_text(text: str) -> datetime:
    """The timezone-aware UTC datetime written by `utc_text`."""
    return datetime.fromisoformat(text)
