"""Snapshots and their history on PostgreSQL: what Meta last said of a WABA, what changed, the webhooks received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from intwa.adapters.storage.postgres_database import Connection, PostgresDatabase
from intwa.adapters.storage.rows import aware_utc
from intwa.domain.history import changes_between
from intwa.domain.models import EXPIRED_AT, Change, ChangeSource, WabaSnapshot, WebhookEvent

_SNAPSHOT_ENCODER = msgspec.json.Encoder()
_SNAPSHOT_DECODER = msgspec.json.Decoder(WabaSnapshot)

# The WABA's row is the lock of its snapshot: writers of one WABA's snapshot take their turns, in this
# instance or another, and each compares against what the one before it stored. No row: not bound.
_LOCK_WABA = "SELECT 1 FROM wabas WHERE waba_id = $1 FOR NO KEY UPDATE"

_SELECT_HISTORY = "SELECT at, waba_id, phone_number_id, field, old, new, source FROM history"
_HISTORY_QUERIES = {
    (False, False): f"{_SELECT_HISTORY} ORDER BY at, id",
    (True, False): f"{_SELECT_HISTORY} WHERE waba_id = $1 ORDER BY at, id",
    (False, True): f"{_SELECT_HISTORY} WHERE phone_number_id = $1 ORDER BY at, id",
    (True, True): f"{_SELECT_HISTORY} WHERE waba_id = $1 AND phone_number_id = $2 ORDER BY at, id",
}
_SELECT_EVENTS = "SELECT received_at, object_id, waba_id, field, event, payload, fingerprint FROM webhook_events"


class PostgresHistory:
    """The snapshot half of `PostgresStorage`: snapshots, the history of their changes, and webhook events.

    A write locks the WABA's row and compares against the snapshot stored under that lock, so racing
    writers, in this instance or in another, never record one change twice.
    """

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        """The WABA's last stored snapshot, if it is bound and has one."""
        rows = await self._database.fetch("SELECT snapshot FROM waba_snapshots WHERE waba_id = $1", waba_id)
        return _SNAPSHOT_DECODER.decode(rows[0][0]) if rows else None

    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        """Replace the WABA's snapshot and record what changed; `[]` and nothing stored if it is unbound."""
        async with self._database.transaction() as connection:
            return await replace_snapshot(connection, snapshot, source)

    async def set_waba_review_status(
        self, waba_id: str, review_status: str, at: datetime, source: ChangeSource
    ) -> list[Change]:
        """Set the review status in the WABA's snapshot and record the change; `[]` if unchanged or unbound.

        The snapshot keeps its fetch time: the rest of its data is no fresher than before.
        """
        async with self._database.transaction() as connection:
            _, stored = await _locked_snapshot(connection, waba_id)
            if stored is None or stored.waba.review_status == review_status:
                return []
            updated = msgspec.structs.replace(
                stored, waba=msgspec.structs.replace(stored.waba, review_status=review_status)
            )
            changes = changes_between(stored, updated, at=aware_utc(at), source=source)
            await _write_snapshot(connection, updated)
            await _record(connection, changes)
        return changes

    async def expire_snapshot(self, waba_id: str) -> None:
        """Make the WABA's snapshot due for a refresh and too old to be served stale; nothing if it has none."""
        async with self._database.transaction() as connection:
            _, stored = await _locked_snapshot(connection, waba_id)
            if stored is not None:
                await _write_snapshot(connection, msgspec.structs.replace(stored, fetched_at=EXPIRED_AT))

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        """Recorded changes, oldest first (in recording order for equal times), optionally filtered."""
        sql = _HISTORY_QUERIES[waba_id is not None, phone_number_id is not None]
        arguments = [value for value in (waba_id, phone_number_id) if value is not None]
        return [_change(row) for row in await self._database.fetch(sql, *arguments)]

    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        """Keep a webhook event; False when one with the same fingerprint is recorded already."""
        inserted = await self._database.fetch(
            """INSERT INTO webhook_events (fingerprint, received_at, object_id, waba_id, field, event, payload)
               VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
            event.fingerprint,
            aware_utc(event.received_at),
            event.object_id,
            event.waba_id,
            event.field,
            event.event,
            event.payload,
        )
        return bool(inserted)

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        """Recorded webhook events, oldest first (in recording order for equal times), optionally of one WABA."""
        if waba_id is None:
            rows = await self._database.fetch(f"{_SELECT_EVENTS} ORDER BY received_at, id")
        else:
            rows = await self._database.fetch(f"{_SELECT_EVENTS} WHERE waba_id = $1 ORDER BY received_at, id", waba_id)
        return [WebhookEvent(*row) for row in rows]


async def replace_snapshot(connection: Connection, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
    """Store the snapshot of a bound WABA and record what changed against the stored one, at its fetch time.

    Runs inside the caller's transaction; a WABA that is not bound, or whose stored snapshot is newer,
    gets nothing and `[]`.
    """
    snapshot = msgspec.structs.replace(snapshot, fetched_at=aware_utc(snapshot.fetched_at))
    bound, stored = await _locked_snapshot(connection, snapshot.waba.id)
    if not bound:
        return []
    if stored is not None and stored.fetched_at > snapshot.fetched_at:
        return []  # a slower refresh finished after a newer one: its older data is not stored
    changes = changes_between(stored, snapshot, at=snapshot.fetched_at, source=source)
    await _write_snapshot(connection, snapshot)
    await _record(connection, changes)
    return changes


async def read_snapshot(connection: Connection, waba_id: str) -> WabaSnapshot | None:
    """The WABA's stored snapshot, read on this connection."""
    encoded = await connection.fetchval("SELECT snapshot FROM waba_snapshots WHERE waba_id = $1", waba_id)
    return None if encoded is None else _SNAPSHOT_DECODER.decode(encoded)


async def _locked_snapshot(connection: Connection, waba_id: str) -> tuple[bool, WabaSnapshot | None]:
    """Lock the WABA's row until the transaction ends; whether it is bound, and its stored snapshot."""
    if not await connection.fetch(_LOCK_WABA, waba_id):
        return False, None
    # A statement of its own: one that waited for the lock sees what the previous holder committed (a join
    # in the locking statement would read the snapshot as it was before the wait).
    return True, await read_snapshot(connection, waba_id)


async def _write_snapshot(connection: Connection, snapshot: WabaSnapshot) -> None:
    fetched_at = aware_utc(snapshot.fetched_at)
    await connection.execute(
        """INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES ($1, $2, $3)
           ON CONFLICT (waba_id) DO UPDATE SET snapshot = excluded.snapshot, fetched_at = excluded.fetched_at""",
        snapshot.waba.id,
        _SNAPSHOT_ENCODER.encode(msgspec.structs.replace(snapshot, fetched_at=fetched_at)).decode(),
        fetched_at,
    )


async def _record(connection: Connection, changes: list[Change]) -> None:
    if not changes:
        return
    await connection.executemany(
        "INSERT INTO history (at, waba_id, phone_number_id, field, old, new, source)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(aware_utc(c.at), c.waba_id, c.phone_number_id, c.field, c.old, c.new, c.source) for c in changes],
    )


def _change(row: Any) -> Change:
    at, waba_id, phone_number_id, field, old, new, source = row
    return Change(at, waba_id, phone_number_id, field, old, new, source)
