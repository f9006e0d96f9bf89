"""The `DeliveryStore` port on PostgreSQL: claims with `FOR UPDATE SKIP LOCKED` and a lease, in short transactions.

Instances claim side by side: rows another claim has locked are skipped, and what it claimed carries a lease
(`locked_until`) once it commits, so no lock is held while the callback is called. A claim locks the rows it
takes only, and reads each account's window again under the lock (READ COMMITTED re-checks the row).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from intwa.adapters.storage.callback_statements import callback_from_row
from intwa.adapters.storage.delivery_statements import (
    DeliveryStatements,
    claimed_from_row,
    fan_out,
    list_query,
    record_from_row,
    settle_parameters,
)
from intwa.adapters.storage.postgres_callbacks import CALLBACK_SQL
from intwa.adapters.storage.postgres_database import Connection, PostgresDatabase, from_timestamptz
from intwa.adapters.storage.rows import aware_utc
from intwa.adapters.storage.statements import numbered
from intwa.domain.callbacks.deliveries import CALLBACK_DISABLED, ClaimedDelivery, DeliveryRecord, Settlement
from intwa.domain.callbacks.models import DeliveryStatus
from intwa.domain.models import CustomerEvent

DELIVERY_SQL = DeliveryStatements(*map(numbered, DeliveryStatements()))
"""The delivery statements with asyncpg's numbered placeholders, numbered once."""

# The lease is the last parameter: `claimable` numbers its own four first.
_CLAIM = f"""WITH claimed AS ({DELIVERY_SQL.claimable} FOR UPDATE OF d SKIP LOCKED)
   UPDATE deliveries SET locked_until = $5 FROM claimed WHERE deliveries.id = claimed.id RETURNING deliveries.id"""  # noqa: S608 - statements of constants
_CLAIMED = f"{DELIVERY_SQL.claimed_details} WHERE d.id = ANY($1::bigint[]) ORDER BY d.id"


async def write_deliveries(connection: Connection, events: Sequence[CustomerEvent]) -> None:
    """In the events' own transaction: a delivery, due now, of each event the account's callback sends."""
    rows = await connection.fetch(CALLBACK_SQL.get_callback, events[0].account_name)
    deliveries = fan_out(callback_from_row(rows[0], from_timestamptz) if rows else None, events, aware_utc)
    if deliveries:
        await connection.executemany(DELIVERY_SQL.insert_delivery, deliveries)


class PostgresDeliveries:
    """Deliveries in the database every instance shares."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def claim(
        self, now: datetime, lease_until: datetime, *, per_account: int, limit: int
    ) -> list[ClaimedDelivery]:
        now = aware_utc(now)
        async with self._database.transaction() as connection:
            rows = await connection.fetch(_CLAIM, per_account, now, now, limit, aware_utc(lease_until))
            if not rows:
                return []
            details = await connection.fetch(_CLAIMED, [row[0] for row in rows])
        return [claimed_from_row(row, from_timestamptz) for row in details]

    async def settle(self, settlement: Settlement) -> None:
        async with self._database.transaction() as connection:
            await connection.execute(DELIVERY_SQL.settle, *settle_parameters(settlement, aware_utc))
            if settlement.disables_callback:
                await connection.execute(DELIVERY_SQL.disable_callback, settlement.account_name)
                await connection.execute(
                    DELIVERY_SQL.fail_account_pending,
                    CALLBACK_DISABLED,
                    settlement.account_name,
                    settlement.delivery_id,
                )

    async def count_pending(self) -> int:
        [(count,)] = await self._database.fetch(DELIVERY_SQL.count_pending)
        return int(count)

    async def list_deliveries(self, account_name: str | None, status: DeliveryStatus | None) -> list[DeliveryRecord]:
        sql, parameters = list_query(account_name, status)
        return [
            record_from_row(row, from_timestamptz) for row in await self._database.fetch(numbered(sql), *parameters)
        ]

    async def redeliver_event(self, event_id: str, now: datetime) -> bool:
        async with self._database.transaction() as connection:
            rows = await connection.fetch(DELIVERY_SQL.redeliver_event, aware_utc(now), event_id)
        return bool(rows)

    async def redeliver_failed(self, account_name: str, now: datetime) -> int:
        async with self._database.transaction() as connection:
            rows = await connection.fetch(DELIVERY_SQL.redeliver_failed, aware_utc(now), account_name)
        return len(rows)
