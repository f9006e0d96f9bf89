"""The `DeliveryStore` port on SQLite: claims, like every write, through the file's one writer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite
import msgspec

from intwa.adapters.storage.callback_statements import callback_from_row
from intwa.adapters.storage.delivery_statements import (
    DeliveryStatements,
    claimed_from_row,
    fan_out,
    list_query,
    record_from_row,
    settle_parameters,
)
from intwa.adapters.storage.sqlite_callbacks import CALLBACK_SQL
from intwa.adapters.storage.sqlite_database import SqliteDatabase, from_utc_text, utc_text
from intwa.domain.callbacks.deliveries import CALLBACK_DISABLED, ClaimedDelivery, DeliveryRecord, Settlement
from intwa.domain.callbacks.models import DeliveryStatus
from intwa.domain.models import CustomerEvent

DELIVERY_SQL = DeliveryStatements()
"""The delivery statements, as SQLite takes them."""

_CLAIM = f"UPDATE deliveries SET locked_until = ? WHERE id IN ({DELIVERY_SQL.claimable}) RETURNING id"  # noqa: S608 - statements of constants
_CLAIMED = f"{DELIVERY_SQL.claimed_details} WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.id"  # noqa: S608 - statements of constants


async def write_deliveries(connection: aiosqlite.Connection, events: Sequence[CustomerEvent]) -> None:
    """In the events' own transaction: a delivery, due now, of each event the account's callback sends."""
    rows = list(await connection.execute_fetchall(CALLBACK_SQL.get_callback, (events[0].account_name,)))
    deliveries = fan_out(callback_from_row(rows[0], from_utc_text) if rows else None, events, utc_text)
    if deliveries:
        await connection.executemany(DELIVERY_SQL.insert_delivery, deliveries)


class SqliteDeliveries:
    """Deliveries in one SQLite file, shared by the processes that open it; the writer decides every claim."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def claim(
        self, now: datetime, lease_until: datetime, *, per_account: int, limit: int
    ) -> list[ClaimedDelivery]:
        now_text = utc_text(now)
        if not await self._database.fetch_all(DELIVERY_SQL.any_due, (now_text, now_text)):
            return []
        async with self._database.transaction() as connection:
            ids = [
                delivery_id
                for (delivery_id,) in await connection.execute_fetchall(
                    _CLAIM, (utc_text(lease_until), per_account, now_text, now_text, limit)
                )
            ]
            if not ids:
                return []
            rows = await connection.execute_fetchall(_CLAIMED, (msgspec.json.encode(ids).decode(),))
        return [claimed_from_row(row, from_utc_text) for row in rows]

    async def settle(self, settlement: Settlement) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(DELIVERY_SQL.settle, settle_parameters(settlement, utc_text))
            if settlement.disables_callback:
                await connection.execute(DELIVERY_SQL.disable_callback, (settlement.account_name,))
                await connection.execute(
                    DELIVERY_SQL.fail_account_pending,
                    (CALLBACK_DISABLED, settlement.account_name, settlement.delivery_id),
                )

    async def count_pending(self) -> int:
        [(count,)] = await self._database.fetch_all(DELIVERY_SQL.count_pending)
        return int(count)

    async def list_deliveries(self, account_name: str | None, status: DeliveryStatus | None) -> list[DeliveryRecord]:
        sql, parameters = list_query(account_name, status)
        return [record_from_row(row, from_utc_text) for row in await self._database.fetch_all(sql, parameters)]

    async def redeliver_event(self, event_id: str, now: datetime) -> bool:
        async with self._database.transaction() as connection:
            rows = list(await connection.execute_fetchall(DELIVERY_SQL.redeliver_event, (utc_text(now), event_id)))
        return bool(rows)

    async def redeliver_failed(self, account_name: str, now: datetime) -> int:
        async with self._database.transaction() as connection:
            rows = list(await connection.execute_fetchall(DELIVERY_SQL.redeliver_failed, (utc_text(now), account_name)))
        return len(rows)
