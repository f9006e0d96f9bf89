"""How processes sharing one SQLite file take turns: refresh leases of WABAs, and claims of the background sync."""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from intwa.adapters.storage.sqlite_database import SQL, SqliteDatabase, from_utc_text, utc_text
from intwa.domain.models import WabaSnapshot

LEASE = timedelta(seconds=30)
"""How long a refresh lease lasts: long enough for a Meta call with its retries, short enough that the
lease of a killed process does not keep the others waiting long."""
POLL_SECONDS = 0.02
"""How often a process waiting for another one's lease looks again."""

_TAKE_LEASE = """INSERT INTO refresh_leases (waba_id, holder, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (waba_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE refresh_leases.expires_at < ?
    RETURNING holder"""


class SqliteCoordination:
    """Refresh locks and sync claims in the SQLite file, so worker processes and the CLI take turns.

    A refresh lock is an in-process `asyncio.Lock` (refreshers in one process queue without touching
    the file) plus a lease row that other processes see. The lease is taken and released in short
    transactions of their own: SQLite's write lock is never held during a Meta call.
    """

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database
        # Weak values: a WABA's lock is forgotten once nobody holds or waits for it.
        self._local_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def lock_refresh(
        self, waba_id: str, read_snapshot: Callable[[str], Awaitable[WabaSnapshot | None]]
    ) -> AsyncIterator[WabaSnapshot | None]:
        """Hold the WABA's refresh lease; yields the snapshot that `read_snapshot` reads once it is held."""
        local_lock = self._local_locks.get(waba_id)
        if local_lock is None:
            local_lock = self._local_locks[waba_id] = asyncio.Lock()
        async with local_lock:
            holder = secrets.token_hex(8)
            try:
                await self._take_lease(waba_id, holder)
                yield await read_snapshot(waba_id)
            finally:
                # Also after a cancellation between taking the lease and returning: only our own row goes.
                async with self._database.transaction() as connection:
                    await connection.execute(
                        "DELETE FROM refresh_leases WHERE waba_id = ? AND holder = ?", (waba_id, holder)
                    )

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        """Claim the WABA for `holder` until `until` when unclaimed, expired at `now`, or held by `holder`."""
        async with self._database.transaction() as connection:
            claimed = await connection.execute_fetchall(
                SQL.claim_for_sync, (waba_id, holder, utc_text(until), utc_text(now))
            )
        return bool(list(claimed))

    async def _take_lease(self, waba_id: str, holder: str) -> None:
        while True:
            now = datetime.now(UTC)
            # A read first: waiting processes poll the reader, and write only when the lease looks free.
            rows = await self._database.fetch_all("SELECT expires_at FROM refresh_leases WHERE waba_id = ?", (waba_id,))
            if not rows or from_utc_text(rows[0][0]) < now:
                async with self._database.transaction() as connection:
                    taken = await connection.execute_fetchall(
                        _TAKE_LEASE, (waba_id, holder, utc_text(now + LEASE), utc_text(now))
                    )
                if list(taken):
                    return
            await asyncio.sleep(POLL_SECONDS)
