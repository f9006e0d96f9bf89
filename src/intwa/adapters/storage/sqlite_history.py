"""Snapshots and their history on SQLite: the writes that compare a WABA's snapshot with the stored one.

Each runs inside the caller's transaction on the writer, which is immediate: it compares against the
snapshot it reads there, so racing writers, in this process or in another, never record one change twice.
The customer events of the changes are written in the same transaction, for the WABA's account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import msgspec

from intwa.adapters.storage.rows import change_parameters, decode_snapshot, encode_snapshot
from intwa.adapters.storage.sqlite_database import SQL, utc_text
from intwa.adapters.storage.sqlite_events import SqliteEventWriter
from intwa.domain.events import snapshot_events
from intwa.domain.history import changes_on_replace, with_review_status
from intwa.domain.models import Change, ChangeSource, WabaSnapshot

_INSERT_FIRST_SNAPSHOT = (
    "INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES (?, ?, ?)"
    " ON CONFLICT (waba_id) DO NOTHING RETURNING waba_id"
)


async def replace_snapshot(
    connection: aiosqlite.Connection, snapshot: WabaSnapshot, source: ChangeSource, events: SqliteEventWriter
) -> list[Change]:
    """Store the snapshot of a bound WABA and record what changed against the stored one, at its fetch time.

    A WABA that is not bound, or whose stored snapshot is newer, gets nothing and `[]`.
    """
    snapshot = msgspec.structs.replace(snapshot, fetched_at=snapshot.fetched_at.astimezone(UTC))
    owner, stored = await _owner_and_snapshot(connection, snapshot.waba.id)
    if owner is None:
        return []
    replacement = changes_on_replace(stored, snapshot, source)
    if replacement is None:
        return []
    snapshot, changes = replacement
    await _write_snapshot(connection, snapshot)
    await _record(connection, changes)
    if stored is not None:
        await events.write(snapshot_events(owner, stored, snapshot, changes))
    return changes


def insert_first_snapshot(snapshot: WabaSnapshot) -> tuple[str, tuple[Any, ...]]:
    """A statement storing the WABA's snapshot if none is stored; it returns a row when it did.

    For a WABA that the same transaction binds: with no snapshot before it nothing changed, so its first
    binding needs nothing of `replace_snapshot` (each statement is a trip to the writer's thread).
    """
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    return _INSERT_FIRST_SNAPSHOT, (snapshot.waba.id, encode_snapshot(snapshot, fetched_at), utc_text(fetched_at))


async def set_review_status(
    connection: aiosqlite.Connection,
    waba_id: str,
    review_status: str,
    at: datetime,
    source: ChangeSource,
    events: SqliteEventWriter,
) -> list[Change]:
    """Set the review status in the WABA's stored snapshot and record the change; `[]` if unchanged or unbound."""
    owner, stored = await _owner_and_snapshot(connection, waba_id)
    if owner is None or stored is None:
        return []
    update = with_review_status(stored, review_status, at.astimezone(UTC), source)
    if update is None:
        return []
    updated, changes = update
    await _write_snapshot(connection, updated)
    await _record(connection, changes)
    await events.write(snapshot_events(owner, stored, updated, changes))
    return changes


async def _owner_and_snapshot(connection: aiosqlite.Connection, waba_id: str) -> tuple[str | None, WabaSnapshot | None]:
    """The account the WABA is bound to (None: not bound) and its stored snapshot, in one statement."""
    rows = list(await connection.execute_fetchall(SQL.owner_and_snapshot, (waba_id,)))
    if not rows:
        return None, None
    owner, encoded = rows[0]
    return owner, None if encoded is None else decode_snapshot(encoded)


async def _write_snapshot(connection: aiosqlite.Connection, snapshot: WabaSnapshot) -> None:
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    await connection.execute(
        SQL.write_snapshot, (snapshot.waba.id, encode_snapshot(snapshot, fetched_at), utc_text(fetched_at))
    )


async def _record(connection: aiosqlite.Connection, changes: list[Change]) -> None:
    if changes:
        await connection.executemany(SQL.record_change, change_parameters(changes, utc_text))
