"""How processes sharing one SQLite file take turns: refresh leases of WABAs, and claims of the background sync."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from intwa.adapters.storage.sqlite_database import SQL, SqliteDatabase, from_utc_text, utc_text
from intwa.domain.errors import StorageUnavailable
from intwa.domain.models import WabaSnapshot

logger = logging.getLogger("intwa.storage")

LEASE_SECONDS = 5.0
"""How long a refresh lease lasts unless its holder renews it: the lease of a process killed mid-refresh
holds up the others at most this long, while a refresh that runs longer (a slow Meta call with its
retries) keeps its lease by renewing it."""
RENEWALS_PER_LEASE = 3
"""How often a holder extends its lease per lease length: one late or failed renewal does not lose it."""
POLL_SECONDS = 0.02
"""How often a process waiting for another one's lease looks again."""

_TAKE_LEASE = """INSERT INTO refresh_leases (waba_id, holder, expires_at) VALUES (?, ?, ?)
    ON CONFLICT (waba_id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE refresh_leases.expires_at < ?
    RETURNING holder"""
_RENEW_LEASE = "UPDATE refresh_leases SET expires_at = ? WHERE waba_id = ? AND holder = ? RETURNING holder"
_RELEASE_LEASE = "DELETE FROM refresh_leases WHERE waba_id = ? AND holder = ?"


class SqliteCoordination:
    """Refresh locks and sync claims in the SQLite file, so worker processes and the CLI take turns.

    A refresh lock is an in-process `asyncio.Lock` (refreshers in one process queue without touching
    the file) plus a lease row that other processes see, renewed by its holder while the refresh runs.
    The lease is taken, renewed and released in short transactions of their own: SQLite's write lock
    is never held during a Meta call.
    """

    def __init__(self, database: SqliteDatabase, lease_seconds: float = LEASE_SECONDS) -> None:
        self._database = database
        self._lease = timedelta(seconds=lease_seconds)
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
            renewing: asyncio.Task[None] | None = None
            try:
                await self._take_lease(waba_id, holder)
                renewing = asyncio.create_task(self._renew_lease(waba_id, holder), name=f"refresh lease {waba_id}")
                yield await read_snapshot(waba_id)
            finally:
                # Also after a cancellation between taking the lease and returning: only our own row goes.
                # The renewal is stopped before the release, which waits for its transaction to end.
                if renewing is not None:
                    renewing.cancel()
                await self._release_lease(waba_id, holder)
                if renewing is not None:
                    await asyncio.wait([renewing])

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
                        _TAKE_LEASE, (waba_id, holder, utc_text(now + self._lease), utc_text(now))
                    )
                if list(taken):
                    return
            await asyncio.sleep(POLL_SECONDS)

    async def _renew_lease(self, waba_id: str, holder: str) -> None:
        """Extend the lease every `1/RENEWALS_PER_LEASE` of its length, until cancelled or taken over."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / RENEWALS_PER_LEASE)
            try:
                async with self._database.transaction() as connection:
                    kept = await connection.execute_fetchall(
                        _RENEW_LEASE, (utc_text(datetime.now(UTC) + self._lease), waba_id, holder)
                    )
            except (StorageUnavailable, sqlite3.Error, ValueError) as error:  # busy, or closing: the next may work
                logger.debug("refresh lease of WABA %s not renewed: %s", waba_id, error)
                continue
            if not list(kept):
                logger.warning(
                    "the refresh lease of WABA %s expired before it was renewed (was the process stalled?);"
                    " another process may refresh the WABA at the same time",
                    waba_id,
                )
                return

    async def _release_lease(self, waba_id: str, holder: str) -> None:
        """Delete the lease row; when the database cannot (it is closing), the lease expires by itself."""
        try:
            async with self._database.transaction() as connection:
                await connection.execute(_RELEASE_LEASE, (waba_id, holder))
        except (StorageUnavailable, sqlite3.Error, ValueError) as error:  # ValueError: aiosqlite's closed connection
            logger.debug(
                "refresh lease of WABA %s not released (%s); it expires within %s s",
                waba_id,
                error,
                self._lease.total_seconds(),
            )
