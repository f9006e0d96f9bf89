"""Request counters in PostgreSQL, shared by every instance and worker on one database."""

from __future__ import annotations

import asyncpg

from intwa.adapters.rate_limit.batched import BatchedRateLimiter, CounterKey
from intwa.adapters.storage.postgres_database import PostgresDatabase

_ADD = """
INSERT INTO rate_limit_windows (account_name, window_start, count)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])
ON CONFLICT (account_name, window_start) DO UPDATE SET count = rate_limit_windows.count + excluded.count
RETURNING account_name, window_start, count
"""
_FORGET_BEFORE = "DELETE FROM rate_limit_windows WHERE window_start < $1"


class PostgresRateLimiter(BatchedRateLimiter):
    """The `RateLimiter` port on an UNLOGGED table of the main database (created by its migrations).

    UNLOGGED: counters matter for a minute and need no write-ahead log; a server crash empties them.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        super().__init__()
        self._database = database

    async def _add(self, hits: dict[CounterKey, int]) -> dict[CounterKey, int]:
        names = [name for name, _ in hits]
        windows = [window for _, window in hits]
        rows = await self._fetch(_ADD, names, windows, list(hits.values()))
        return {(row["account_name"], row["window_start"]): row["count"] for row in rows}

    async def _forget_before(self, window: int) -> None:
        await self._fetch(_FORGET_BEFORE, window)

    async def _fetch(self, sql: str, *arguments: object) -> list[asyncpg.Record]:
        """The database's rows; any of its errors means the counters cannot be written now.

        The database's own outages come as `StorageUnavailable` already, logged by its outage; the rest
        (a deadlock between instances' batches, say) are the counters' own.
        """
        try:
            return await self._database.fetch(sql, *arguments)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise self.outage.unavailable("not written", error) from error
