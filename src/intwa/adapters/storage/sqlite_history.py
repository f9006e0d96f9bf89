"""Snapshots and their history on SQLite: what Meta last said of a WABA, what changed, the webhooks received."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import msgspec

from intwa.adapters.storage.sqlite_database import SqliteDatabase, from_utc_text, utc_text
from intwa.domain.history import changes_between
from intwa.domain.models import EXPIRED_AT, Change, ChangeSource, WabaSnapshot, WebhookEvent

_SNAPSHOT_ENCODER = msgspec.json.Encoder()
_SNAPSHOT_DECODER = msgspec.json.Decoder(WabaSnapshot)

_SELECT_HISTORY = "SELECT at, waba_id, phone_number_id, field, old, new, source FROM history"
# One fixed statement per combination of filters, so that SQLite can use the matching index.
_HISTORY_QUERIES = {
    (False, False): f"{_SELECT_HISTORY} ORDER BY at, id",
    (True, False): f"{_SELECT_HISTORY} WHERE waba_id = ? ORDER BY at, id",
    (False, True): f"{_SELECT_HISTORY} WHERE phone_number_id = ? ORDER BY at, id",
    (True, True): f"{_SELECT_HISTORY} WHERE waba_id = ? AND phone_number_id = ? ORDER BY at, id",
}
_SELECT_EVENTS = "SELECT received_at, object_id, waba_id, field, event, payload, fingerprint FROM webhook_events"


class SqliteHistory:
    """The snapshot half of `SqliteStorage`: snapshots, the history of their changes, and webhook events.

    A write compares against the snapshot it reads on the writer inside its own immediate transaction,
    so racing writers, in this process or in another, never record one change twice.
    """

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        """The WABA's last stored snapshot, if it is bound and has one."""
        rows = await self._database.fetch_all("SELECT snapshot FROM waba_snapshots WHERE waba_id = ?", (waba_id,))
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
            stored = await _stored_snapshot(connection, waba_id)
            if stored is None or stored.waba.review_status == review_status:
                return []
            updated = msgspec.structs.replace(
                stored, waba=msgspec.structs.replace(stored.waba, review_status=review_status)
            )
            changes = changes_between(stored, updated, at=at.astimezone(UTC), source=source)
            await _write_snapshot(connection, updated)
            await _record(connection, changes)
        return changes

    async def expire_snapshot(self, waba_id: str) -> None:
        """Make the WABA's snapshot due for a refresh and too old to be served stale; nothing if it has none."""
        async with self._database.transaction() as connection:
            stored = await _stored_snapshot(connection, waba_id)
            if stored is not None:
                await _write_snapshot(connection, msgspec.structs.replace(stored, fetched_at=EXPIRED_AT))

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        """Recorded changes, oldest first (in recording order for equal times), optionally filtered."""
        sql = _HISTORY_QUERIES[waba_id is not None, phone_number_id is not None]
        parameters = tuple(value for value in (waba_id, phone_number_id) if value is not None)
        return [_change(row) for row in await self._database.fetch_all(sql, parameters)]

    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        """Keep a webhook event; False when one with the same fingerprint is recorded already."""
        async with self._database.transaction() as connection:
            inserted = await connection.execute_fetchall(
                """INSERT INTO webhook_events (fingerprint, received_at, object_id, waba_id, field, event, payload)
                   VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING RETURNING id""",
                (
                    event.fingerprint,
                    utc_text(event.received_at),
                    event.object_id,
                    event.waba_id,
                    event.field,
                    event.event,
                    event.payload,
                ),
            )
        return bool(list(inserted))

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        """Recorded webhook events, oldest first (in recording order for equal times), optionally of one WABA."""
        if waba_id is None:
            rows = await self._database.fetch_all(f"{_SELECT_EVENTS} ORDER BY received_at, id")
        else:
            rows = await self._database.fetch_all(
                f"{_SELECT_EVENTS} WHERE waba_id = ? ORDER BY received_at, id", (waba_id,)
            )
        return [_webhook_event(row) for row in rows]


async def replace_snapshot(
    connection: aiosqlite.Connection, snapshot: WabaSnapshot, source: ChangeSource
) -> list[Change]:
    """Store the snapshot of a bound WABA and record what changed against the stored one, at its fetch time.

    Runs inside the caller's transaction on the writer; a WABA that is not bound, or whose stored snapshot
    is newer, gets nothing and `[]`.
    """
    snapshot = msgspec.structs.replace(snapshot, fetched_at=snapshot.fetched_at.astimezone(UTC))
    stored = await _stored_snapshot(connection, snapshot.waba.id)
    if stored is None and not await _is_bound(connection, snapshot.waba.id):
        return []
    if stored is not None and stored.fetched_at > snapshot.fetched_at:
        return []  # a slower refresh finished after a newer one: its older data is not stored
    changes = changes_between(stored, snapshot, at=snapshot.fetched_at, source=source)
    await _write_snapshot(connection, snapshot)
    await _record(connection, changes)
    return changes


def insert_first_snapshot(snapshot: WabaSnapshot) -> tuple[str, tuple[Any, ...]]:
    """A statement storing the WABA's snapshot if none is stored; it returns a row when it did.

    For a WABA that the same transaction binds: with no snapshot before it nothing changed, so its first
    binding needs nothing of `replace_snapshot` (each statement is a trip to the writer's thread).
    """
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    return (
        "INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES (?, ?, ?)"
        " ON CONFLICT (waba_id) DO NOTHING RETURNING waba_id",
        (
            snapshot.waba.id,
            _SNAPSHOT_ENCODER.encode(msgspec.structs.replace(snapshot, fetched_at=fetched_at)),
            utc_text(fetched_at),
        ),
    )


async def _stored_snapshot(connection: aiosqlite.Connection, waba_id: str) -> WabaSnapshot | None:
    rows = list(await connection.execute_fetchall("SELECT snapshot FROM waba_snapshots WHERE waba_id = ?", (waba_id,)))
    return _SNAPSHOT_DECODER.decode(rows[0][0]) if rows else None


async def _is_bound(connection: aiosqlite.Connection, waba_id: str) -> bool:
    return bool(list(await connection.execute_fetchall("SELECT 1 FROM wabas WHERE waba_id = ?", (waba_id,))))


async def _write_snapshot(connection: aiosqlite.Connection, snapshot: WabaSnapshot) -> None:
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    await connection.execute(
        """INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES (?, ?, ?)
           ON CONFLICT (waba_id) DO UPDATE SET snapshot = excluded.snapshot, fetched_at = excluded.fetched_at""",
        (
            snapshot.waba.id,
            _SNAPSHOT_ENCODER.encode(msgspec.structs.replace(snapshot, fetched_at=fetched_at)),
            utc_text(fetched_at),
        ),
    )


async def _record(connection: aiosqlite.Connection, changes: list[Change]) -> None:
    if not changes:
        return
    await connection.executemany(
        "INSERT INTO history (at, waba_id, phone_number_id, field, old, new, source) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                utc_text(change.at),
                change.waba_id,
                change.phone_number_id,
                change.field,
                change.old,
                change.new,
                change.source,
            )
            for change in changes
        ],
    )


def _change(row: Any) -> Change:
    at, waba_id, phone_number_id, field, old, new, source = row
    return Change(from_utc_text(at), waba_id, phone_number_id, field, old, new, source)


def _webhook_event(row: Any) -> WebhookEvent:
    received_at, object_id, waba_id, field, event, payload, fingerprint = row
    return WebhookEvent(from_utc_text(received_at), object_id, waba_id, field, event, payload, fingerprint)
