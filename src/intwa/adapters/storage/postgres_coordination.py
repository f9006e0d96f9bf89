"""How intwa instances sharing one PostgreSQL database take turns: refresh locks and background-sync claims."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from intwa.adapters.storage.postgres_database import SQL, PostgresDatabase, advisory_key
from intwa.adapters.storage.postgres_history import read_snapshot
from intwa.adapters.storage.rows import aware_utc
from intwa.domain.models import WabaSnapshot


class PostgresCoordination:
    """Refresh locks as transaction-scoped advisory locks, and sync claims as rows with an expiry.

    An advisory lock dies with its transaction, and so with its connection: an instance that is killed
    mid-refresh blocks nobody. Locks are keyed by a 64-bit hash of the WABA id (`advisory_key`); two
    WABAs sharing a key would only take turns.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    @asynccontextmanager
    async def lock_refresh(self, waba_id: str) -> AsyncIterator[WabaSnapshot | None]:
        """Hold the WABA's refresh lock until the block ends; yields the snapshot stored once it is held."""
        async with self._database.lock_transaction() as connection:
            await connection.execute("SELECT pg_advisory_xact_lock($1)", advisory_key("refresh", waba_id))
            # READ COMMITTED: this statement sees what the previous holder committed before releasing.
            yield await read_snapshot(connection, waba_id)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        """Claim the WABA for `holder` until `until` when unclaimed, expired at `now`, or held by `holder`."""
        claimed = await self._database.fetch(SQL.claim_for_sync, waba_id, holder, aware_utc(until), aware_utc(now))
        return bool(claimed)
