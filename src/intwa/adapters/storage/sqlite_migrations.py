"""The versioned schema of the SQLite store: ordered steps, each applied once in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from intwa.adapters.storage.sqlite_database import SqliteDatabase, utc_text
from intwa.domain.errors import StorageNotReady
from intwa.domain.ports import SchemaState


class Migration(NamedTuple):
    """One step of the schema; `statements` run in order, in one transaction with its bookkeeping."""

    version: int
    statements: tuple[str, ...]


# Append new steps; never edit one that has shipped. Uniqueness lives in the schema, so racing
# writers from different processes cannot both win: a phone number has one binding (primary key),
# a WABA has one owning account (primary key), and a binding must match its WABA's owner (foreign key).
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        (
            """CREATE TABLE accounts (
                name TEXT PRIMARY KEY,
                enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE api_keys (
                key_hash TEXT PRIMARY KEY,
                account_name TEXT NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX api_keys_by_account ON api_keys (account_name)",
            """CREATE TABLE wabas (
                waba_id TEXT PRIMARY KEY,
                account_name TEXT NOT NULL REFERENCES accounts (name),
                bound_at TEXT NOT NULL,
                UNIQUE (waba_id, account_name)
            )""",
            "CREATE INDEX wabas_by_account ON wabas (account_name, bound_at, waba_id)",
            "CREATE INDEX wabas_by_binding_time ON wabas (bound_at, waba_id)",
            """CREATE TABLE bindings (
                phone_number_id TEXT PRIMARY KEY,
                waba_id TEXT NOT NULL,
                account_name TEXT NOT NULL,
                phone_number TEXT NOT NULL,
                bound_at TEXT NOT NULL,
                FOREIGN KEY (waba_id, account_name) REFERENCES wabas (waba_id, account_name)
            )""",
            "CREATE INDEX bindings_by_account ON bindings (account_name, bound_at, phone_number_id)",
            "CREATE INDEX bindings_by_waba ON bindings (waba_id, account_name)",
            """CREATE TABLE waba_snapshots (
                waba_id TEXT PRIMARY KEY REFERENCES wabas (waba_id) ON DELETE CASCADE,
                snapshot BLOB NOT NULL,
                fetched_at TEXT NOT NULL
            )""",
        ),
    ),
    # History outlives bindings, so neither table refers to `wabas`: unbinding deletes no history.
    Migration(
        2,
        (
            """CREATE TABLE history (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                waba_id TEXT NOT NULL,
                phone_number_id TEXT,
                field TEXT NOT NULL,
                old TEXT,
                new TEXT,
                source TEXT NOT NULL
            )""",
            "CREATE INDEX history_by_time ON history (at, id)",
            "CREATE INDEX history_by_waba ON history (waba_id, at, id)",
            "CREATE INDEX history_by_phone_number ON history (phone_number_id, at, id)",
            """CREATE TABLE webhook_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                fingerprint TEXT NOT NULL UNIQUE,
                received_at TEXT NOT NULL,
                object_id TEXT NOT NULL,
                waba_id TEXT,
                field TEXT NOT NULL,
                event TEXT,
                payload TEXT NOT NULL
            )""",
            "CREATE INDEX webhook_events_by_time ON webhook_events (received_at, id)",
            "CREATE INDEX webhook_events_by_waba ON webhook_events (waba_id, received_at, id)",
        ),
    ),
    # Coordination between processes: who is refreshing a WABA from Meta now (a lease that expires, so a
    # killed process cannot block the others), and which background sync has claimed a WABA until when.
    Migration(
        3,
        (
            """CREATE TABLE refresh_leases (
                waba_id TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
            """CREATE TABLE sync_claims (
                waba_id TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                claimed_until TEXT NOT NULL
            )""",
        ),
    ),
    # Version 4 is PostgreSQL's table of rate-limit counters; SQLite keeps them in a file of their own.
    # A rotated key may keep working until `valid_until` (`account rotate-key --keep-old-for`); NULL: until
    # the next rotation.
    Migration(5, ("ALTER TABLE api_keys ADD COLUMN valid_until TEXT",)),
    # Customer events (SPEC §3.10), each written in the transaction of what caused it: the outbox the feed and
    # callbacks read. `position` is an account's feed order; SQLite commits one writer at a time, so it is
    # commit order. `event_sequences` numbers each WABA's events without gaps; like history, neither refers to
    # `wabas`, so events and their numbering outlive bindings.
    Migration(
        6,
        (
            """CREATE TABLE customer_events (
                position INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                account_name TEXT NOT NULL,
                waba_id TEXT NOT NULL,
                sequence INTEGER NOT NULL,
                type TEXT NOT NULL,
                created_at TEXT NOT NULL,
                document BLOB NOT NULL,
                UNIQUE (waba_id, sequence)
            )""",
            "CREATE INDEX customer_events_by_account ON customer_events (account_name, position)",
            "CREATE INDEX customer_events_by_time ON customer_events (created_at, position)",
            """CREATE TABLE event_sequences (
                waba_id TEXT PRIMARY KEY,
                last_sequence INTEGER NOT NULL
            )""",
        ),
    ),
    # Callbacks: one per account, its URL, event types (a JSON array;
    # NULL: all) and secrets (the previous one signs until `previous_secret_until`). Deliveries: the outbox's
    # work list, one row per event to deliver, in event order (`id`), claimed by a worker until `locked_until`.
    Migration(
        7,
        (
            """CREATE TABLE callbacks (
                account_name TEXT PRIMARY KEY REFERENCES accounts (name),
                url TEXT NOT NULL,
                types TEXT,
                secret TEXT NOT NULL,
                enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                created_at TEXT NOT NULL,
                previous_secret TEXT,
                previous_secret_until TEXT
            )""",
            """CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL UNIQUE,
                account_name TEXT NOT NULL REFERENCES accounts (name),
                status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                last_status INTEGER,
                last_error TEXT,
                last_attempt_at TEXT,
                locked_until TEXT,
                created_at TEXT NOT NULL
            )""",
            # Claims: the due pending deliveries, and each account's next ones in event order.
            "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending'",
            "CREATE INDEX deliveries_pending_by_account ON deliveries (account_name, id) WHERE status = 'pending'",
            # callbackInfo: the latest successful attempt and the attempts after it; pruning by age.
            "CREATE INDEX deliveries_by_account ON deliveries (account_name, status, last_attempt_at)",
            "CREATE INDEX deliveries_by_attempt ON deliveries (account_name, last_attempt_at)",
            "CREATE INDEX deliveries_by_time ON deliveries (created_at, id)",
        ),
    ),
)


async def apply_migrations(database: SqliteDatabase, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending steps; safe to run again, and from several processes at once.

    Refuses a database whose schema is newer than `migrations` know: code that old would misread it.
    """
    known = max(migration.version for migration in migrations)
    async with database.transaction() as connection:
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        [(recorded,)] = await connection.execute_fetchall("SELECT max(version) FROM schema_migrations")
        if recorded is not None and recorded > known:
            raise StorageNotReady(str(SchemaState(recorded, known).problem("the database")))
    applied: list[int] = []
    for migration in migrations:
        # The check sits inside the step's own immediate transaction: a process that waited for
        # another one's step sees it recorded and skips it.
        async with database.transaction() as connection:
            done = await connection.execute_fetchall(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
            )
            if not done:
                for statement in migration.statements:
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (migration.version, utc_text(datetime.now(UTC))),
                )
                applied.append(migration.version)
    return applied


async def read_schema_state(database: SqliteDatabase, migrations: Sequence[Migration] = MIGRATIONS) -> SchemaState:
    """The newest version the file records against the newest of `migrations`; creates and writes nothing."""
    latest = max(migration.version for migration in migrations)
    if not await database.fetch_all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"):
        return SchemaState(None, latest)
    [(recorded,)] = await database.fetch_all("SELECT max(version) FROM schema_migrations")
    return SchemaState(recorded, latest)
