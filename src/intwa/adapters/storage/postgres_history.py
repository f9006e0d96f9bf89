"""Snapshots and their history on PostgreSQL: the writes that compare a WABA's snapshot with the stored one.

Each runs inside the caller's transaction and locks the WABA's row first, so racing writers, in this
instance or in another, take their turns and never record one change twice. The customer events of the
changes are written in the same transaction, for the WABA's account.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from intwa.adapters.storage.postgres_database import SQL, Connection
from intwa.adapters.storage.postgres_events import PostgresEventWriter
from intwa.adapters.storage.rows import aware_utc, change_parameters, decode_snapshot, encode_snapshot
from intwa.domain.events import snapshot_events
from intwa.domain.history import changes_on_replace, with_review_status
from intwa.domain.models import Change, ChangeSource, WabaSnapshot

LOCK_WABA = f"{SQL.waba_owner} FOR NO KEY UPDATE"
"""The WABA's owner, locking its row until the transaction ends; no row: not bound.

The WABA's row is the lock of its snapshot: writers of one WABA's snapshot take their turns, in this
instance or another, and each compares against what the one before it stored."""


async def replace_snapshot(
    connection: Connection, snapshot: WabaSnapshot, source: ChangeSource, events: PostgresEventWriter
) -> list[Change]:
    """Store the snapshot of a bound WABA and record what changed against the stored one, at its fetch time.

    A WABA that is not bound, or whose stored snapshot is newer, gets nothing and `[]`.
    """
    snapshot = msgspec.structs.replace(snapshot, fetched_at=aware_utc(snapshot.fetched_at))
    owner, stored = await _locked_snapshot(connection, snapshot.waba.id)
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


async def set_review_status(
    connection: Connection,
    waba_id: str,
    review_status: str,
    at: datetime,
    source: ChangeSource,
    events: PostgresEventWriter,
) -> list[Change]:
    """Set the review status in the WABA's stored snapshot and record the change; `[]` if unchanged or unbound."""
    owner, stored = await _locked_snapshot(connection, waba_id)
    if owner is None or stored is None:
        return []
    update = with_review_status(stored, review_status, aware_utc(at), source)
    if update is None:
        return []
    updated, changes = update
    await _write_snapshot(connection, updated)
    await _record(connection, changes)
    await events.write(snapshot_events(owner, stored, updated, changes))
    return changes


async def read_snapshot(connection: Connection, waba_id: str) -> WabaSnapshot | None:
    """The WABA's stored snapshot, read on this connection."""
    encoded = await connection.fetchval(SQL.get_snapshot, waba_id)
    return None if encoded is None else decode_snapshot(encoded)


async def _locked_snapshot(connection: Connection, waba_id: str) -> tuple[str | None, WabaSnapshot | None]:
    """Lock the WABA's row until the transaction ends; the account it is bound to (None: not bound) and its snapshot."""
    rows = await connection.fetch(LOCK_WABA, waba_id)
    if not rows:
        return None, None
    # A statement of its own: one that waited for the lock sees what the previous holder committed (a join
    # in the locking statement would read the snapshot as it was before the wait).
    return str(rows[0][0]), await read_snapshot(connection, waba_id)


async def _write_snapshot(connection: Connection, snapshot: WabaSnapshot) -> None:
    fetched_at = aware_utc(snapshot.fetched_at)
    # asyncpg takes a `jsonb` parameter as text.
    await connection.execute(
        SQL.write_snapshot, snapshot.waba.id, encode_snapshot(snapshot, fetched_at).decode(), fetched_at
    )


async def _record(connection: Connection, changes: list[Change]) -> None:
    if changes:
        await connection.executemany(SQL.record_change, change_parameters(changes, aware_utc))
