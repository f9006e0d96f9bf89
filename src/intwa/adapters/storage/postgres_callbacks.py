"""The `CallbackStore` port on the PostgreSQL database that several intwa instances share."""

from __future__ import annotations

import asyncio

from intwa.adapters.storage.callback_statements import (
    CALLBACK_DELETED,
    CallbackStatements,
    callback_from_row,
    callback_parameters,
    delivery_stats_from_rows,
)
from intwa.adapters.storage.postgres_database import PostgresDatabase, from_timestamptz
from intwa.adapters.storage.rows import aware_utc
from intwa.adapters.storage.statements import numbered
from intwa.domain.callbacks.models import Callback, CallbackSetting, DeliveryStats
from intwa.domain.errors import AccountNotFound

CALLBACK_SQL = CallbackStatements(*map(numbered, CallbackStatements()))
"""The callback statements with asyncpg's numbered placeholders, numbered once."""

# The account's row is the lock of its callback: settings of one account take their turns, in this instance or
# another, even the first two (no callback row to lock yet). NO KEY UPDATE: inserts that refer to the account
# (bindings, keys) do not wait for it.
_LOCK_ACCOUNT = "SELECT 1 FROM accounts WHERE name = $1 FOR NO KEY UPDATE"


class PostgresCallbackStore:
    """Callbacks and their deliveries' standing, in the database every instance shares."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def set_callback(self, account_name: str, setting: CallbackSetting) -> Callback:
        """Apply `setting` to the stored callback and store the result, under the account's row lock."""
        async with self._database.transaction() as connection:
            if not await connection.fetch(_LOCK_ACCOUNT, account_name):
                raise AccountNotFound(f"no account named `{account_name}`")
            rows = await connection.fetch(CALLBACK_SQL.get_callback, account_name)
            stored = callback_from_row(rows[0], from_timestamptz) if rows else None
            callback = setting.applied_to(account_name, stored)
            await connection.execute(CALLBACK_SQL.put_callback, *callback_parameters(callback, aware_utc))
        return callback

    async def get_callback(self, account_name: str) -> Callback | None:
        rows = await self._database.fetch(CALLBACK_SQL.get_callback, account_name)
        return callback_from_row(rows[0], from_timestamptz) if rows else None

    async def delete_callback(self, account_name: str) -> Callback | None:
        """Delete the callback, and end its pending deliveries `failed`, in one transaction."""
        async with self._database.transaction() as connection:
            rows = await connection.fetch(CALLBACK_SQL.delete_callback, account_name)
            if rows:
                await connection.execute(CALLBACK_SQL.fail_pending_deliveries, CALLBACK_DELETED, account_name)
        return callback_from_row(rows[0], from_timestamptz) if rows else None

    async def delivery_stats(self, account_name: str) -> DeliveryStats:
        # Two reads side by side, on two connections of the pool.
        counts, last = await asyncio.gather(
            self._database.fetch(CALLBACK_SQL.delivery_counts, account_name, account_name, account_name),
            self._database.fetch(CALLBACK_SQL.last_delivery, account_name),
        )
        return delivery_stats_from_rows(counts[0], last[0] if last else None, from_timestamptz)
