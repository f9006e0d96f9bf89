"""The `CallbackStore` port on the SQLite file the other data is in."""

from __future__ import annotations

import sqlite3

from intwa.adapters.storage.callback_statements import (
    CALLBACK_DELETED,
    CallbackStatements,
    callback_from_row,
    callback_parameters,
    delivery_stats_from_rows,
)
from intwa.adapters.storage.sqlite_database import SQL, SqliteDatabase, from_utc_text, utc_text
from intwa.domain.callbacks.models import Callback, CallbackSetting, DeliveryStats
from intwa.domain.errors import AccountNotFound

CALLBACK_SQL = CallbackStatements()
"""The callback statements, as SQLite takes them."""


class SqliteCallbackStore:
    """Callbacks and their deliveries' standing; writes go through the file's one writer, like every write."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def set_callback(self, account_name: str, setting: CallbackSetting) -> Callback:
        """Apply `setting` to the stored callback and store the result, in one immediate transaction."""
        async with self._database.transaction() as connection:
            if not list(await connection.execute_fetchall(SQL.account_exists, (account_name,))):
                raise AccountNotFound(f"no account named `{account_name}`")
            rows = list(await connection.execute_fetchall(CALLBACK_SQL.get_callback, (account_name,)))
            stored = callback_from_row(rows[0], from_utc_text) if rows else None
            callback = setting.applied_to(account_name, stored)
            try:
                await connection.execute(CALLBACK_SQL.put_callback, callback_parameters(callback, utc_text))
            except sqlite3.IntegrityError as error:  # the account went between the two statements
                raise AccountNotFound(f"no account named `{account_name}`") from error
        return callback

    async def get_callback(self, account_name: str) -> Callback | None:
        rows = await self._database.fetch_all(CALLBACK_SQL.get_callback, (account_name,))
        return callback_from_row(rows[0], from_utc_text) if rows else None

    async def delete_callback(self, account_name: str) -> Callback | None:
        """Delete the callback, and end its pending deliveries `failed`, in one transaction."""
        async with self._database.transaction() as connection:
            rows = list(await connection.execute_fetchall(CALLBACK_SQL.delete_callback, (account_name,)))
            if rows:
                await connection.execute(CALLBACK_SQL.fail_pending_deliveries, (CALLBACK_DELETED, account_name))
        return callback_from_row(rows[0], from_utc_text) if rows else None

    async def delivery_stats(self, account_name: str) -> DeliveryStats:
        [counts] = await self._database.fetch_all(CALLBACK_SQL.delivery_counts, (account_name,) * 3)
        last = await self._database.fetch_all(CALLBACK_SQL.last_delivery, (account_name,))
        return delivery_stats_from_rows(counts, last[0] if last else None, from_utc_text)
