"""Request counters in their own SQLite file, shared by every worker of one `intwa serve`.

The counters are kept apart from the main database: a counter write per request must never wait for, or
make wait, a binding's durable transaction, and counters need none of its durability.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path

import aiosqlite
from aiosqlite import Row

from intwa.adapters.rate_limit.batched import BatchedRateLimiter, CounterKey
from intwa.adapters.storage.private_files import create_private_file
from intwa.adapters.storage.sqlite_database import sqlite_unavailability

_PRAGMAS = (
    # A request waits at most this long for another worker's counter write before it is let through.
    "PRAGMA busy_timeout = 1000",
    # Counters matter for a minute: a crash or a power loss may lose the last ones, so nothing is synced.
    "PRAGMA synchronous = OFF",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    account_name TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (account_name, window_start)
) WITHOUT ROWID
"""
_ADD = """
INSERT INTO rate_limit_windows (account_name, window_start, count) VALUES {rows}
ON CONFLICT (account_name, window_start) DO UPDATE SET count = count + excluded.count
RETURNING account_name, window_start, count
"""
_FORGET_BEFORE = "DELETE FROM rate_limit_windows WHERE window_start < ?"
_MAX_ROWS = 1000  # SQLite allows 32766 parameters in a statement, three a row


def rate_limit_path(database_path: str) -> str:
    """The counters' file, next to the main database: `<sqlite_path>-ratelimit.db`."""
    return f"{database_path}-ratelimit.db"


class SqliteRateLimiter(BatchedRateLimiter):
    """The `RateLimiter` port on a SQLite file of its own, shared by every worker of one `intwa serve`.

    Each process forgets windows older than the previous one when it first counts in a new window.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        super().__init__()
        self._connection = connection

    async def _add(self, hits: dict[CounterKey, int]) -> dict[CounterKey, int]:
        keys = list(hits)
        counts: dict[CounterKey, int] = {}
        for first in range(0, len(keys), _MAX_ROWS):
            rows = keys[first : first + _MAX_ROWS]
            statement = _ADD.format(rows=", ".join(["(?, ?, ?)"] * len(rows)))
            parameters = [value for key in rows for value in (*key, hits[key])]
            for name, start, count in await self._run(statement, parameters):
                counts[(name, start)] = count
        return counts

    async def _forget_before(self, window: int) -> None:
        await self._run(_FORGET_BEFORE, (window,))

    async def _run(self, statement: str, parameters: Sequence[object]) -> Iterable[Row]:
        """The statement's rows; any error of the file (locked, full, even corrupt) means it is not written now.

        Counters are worth less than the requests they count, so every SQLite error lets the requests through.
        """
        try:
            return await self._connection.execute_fetchall(statement, parameters)
        except (sqlite3.Error, OSError) as error:
            found = sqlite_unavailability(error)
            raise self.outage.unavailable(found[0] if found else "not written", error) from error


async def open_sqlite_rate_limiter(database_path: str) -> AsyncIterator[SqliteRateLimiter]:
    """Open (creating it if needed) the counters' file next to `database_path`; a `providers.Resource`."""
    path = rate_limit_path(database_path)
    create_private_file(Path(path))  # 0600 in folders of 0700 when intwa creates them (SPEC §7)
    # As for the main database: the plain module finds an unopenable file before aiosqlite's thread starts.
    sqlite3.connect(path).close()
    # isolation_level=None: each statement commits on its own, so a write holds the file's lock briefly.
    connection = await aiosqlite.connect(path, isolation_level=None)
    try:
        for pragma in _PRAGMAS:
            await connection.execute_fetchall(pragma)
        # In WAL a commit is one append, not a journal file plus a database write: the cheapest write
        # SQLite has. Where the file cannot use WAL the counters still work, with the rollback journal.
        await connection.execute_fetchall("PRAGMA journal_mode = WAL")
        await connection.execute_fetchall(_SCHEMA)
        limiter = SqliteRateLimiter(connection)
        yield limiter
        await limiter.close()
    finally:
        await connection.close()
