"""Snapshots and their history on SQLite: the writes that compare a WABA's snapshot with the stored one.

Each runs inside the caller's transaction on the writer, which is immediate: it compares against the
snapshot it reads there, so racing writers, in this process or in another, never record one change twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
import msgspec

from intwa.adapters.storage.rows import change_parameters, decode_snapshot, encode_snapshot
from intwa.adapters.storage.sqlite_database import SQL, utc_text
from intwa.domain.history import changes_on_replace, with_review_status
from intwa.domain.models import Change, ChangeSource, WabaSnapshot

_INSERT_FIRST_SNAPSHOT = (
    "INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES (?, ?, ?)"
    " ON CONFLICT (waba_id) DO NOTHING RETURNING waba_id"
)


async def replace_snapshot(
    connection: aiosqlite.Connection, snapshot: WabaSnapshot, source: ChangeSource
) -> list[Change]:
    """Store the snapshot of a bound WABA and record what changed against the stored one, at its fetch time.

    A WABA that is not bound, or whose stored snapshot is newer, gets nothing and `[]`.
    """
    snapshot = msgspec.structs.replace(snapshot, fetched_at=snapshot.fetched_at.astimezone(UTC))
    stored = await _stored_snapshot(connection, snapshot.waba.id)
    if stored is None and not await _is_bound(connection, snapshot.waba.id):
        return []
    replacement = changes_on_replace(stored, snapshot, source)
    if replacement is None:
        return []
    snapshot, changes = replacement
    await _write_snapshot(connection, snapshot)
    await _record(connection, changes)
    return changes


def insert_first_snapshot(snapshot: WabaSnapshot) -> tuple[str, tuple[Any, ...]]:
    """A statement storing the WABA's snapshot if none is stored; it returns a row when it did.

    For a WABA that the same transaction binds: with no snapshot before it nothing changed, so its first
    binding needs nothing of `replace_snapshot` (each statement is a trip to the writer's thread).
    """
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    return _INSERT_FIRST_SNAPSHOT, (snapshot.waba.id, encode_snapshot(snapshot, fetched_at), utc_text(fetched_at))


async def set_review_status(
    connection: aiosqlite.Connection, waba_id: str, review_status: str, at: datetime, source: ChangeSource
) -> list[Change]:
    """Set the review status in the WABA's stored snapshot and record the change; `[]` if unchanged or unbound."""
    stored = await _stored_snapshot(connection, waba_id)
    update = None if stored is None else with_review_status(stored, review_status, at.astimezone(UTC), source)
    if update is None:
        return []
    updated, changes = update
    await _write_snapshot(connection, updated)
    await _record(connection, changes)
    return changes


async def _stored_snapshot(connection: aiosqlite.Connection, waba_id: str) -> WabaSnapshot | None:
    rows = list(await connection.execute_fetchall(SQL.get_snapshot, (waba_id,)))
    return decode_snapshot(rows[0][0]) if rows else None


async def _is_bound(connection: aiosqlite.Connection, waba_id: str) -> bool:
    return bool(list(await connection.execute_fetchall(SQL.waba_owner, (waba_id,))))


async def _write_snapshot(connection: aiosqlite.Connection, snapshot: WabaSnapshot) -> None:
    fetched_at = snapshot.fetched_at.astimezone(UTC)
    await connection.execute(
        SQL.write_snapshot, (snapshot.waba.id, encode_snapshot(snapshot, fetched_at), utc_text(fetched_at))
    )


async def _record(connection: aiosqlite.Connection, changes: list[Change]) -> None:
    if changes:
        await connection.executemany(SQL.record_change, change_parameters(changes, utc_text))
