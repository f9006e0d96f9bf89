"""The versioned schema of the PostgreSQL store: the steps of SQLite's schema, in PostgreSQL's types.

Versions are numbered as SQLite's, so `intwa db migrate` says the same on both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from intwa.adapters.storage.postgres_database import PostgresDatabase, advisory_key
from intwa.domain.errors import StorageNotReady
from intwa.domain.ports import SchemaState


class Migration(NamedTuple):
    """One step of the schema; `statements` run in order, in the transaction that records it."""

    version: int
    statements: tuple[str, ...]


MIGRATION_LOCK = advisory_key("migrations", "schema")
"""Serializes migrating instances: the second one to start waits, then finds the steps applied."""

# Append new steps; never edit one that has shipped. Ids and names are `COLLATE "C"`, so that they
# sort by their bytes as on SQLite, whatever the database's own collation. Times are `timestamptz`.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        (
            """CREATE TABLE accounts (
                name text COLLATE "C" PRIMARY KEY,
                enabled boolean NOT NULL,
                created_at timestamptz NOT NULL
            )""",
            """CREATE TABLE api_keys (
                key_hash text COLLATE "C" PRIMARY KEY,
                account_name text COLLATE "C" NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
                created_at timestamptz NOT NULL
            )""",
            "CREATE INDEX api_keys_by_account ON api_keys (account_name)",
            """CREATE TABLE wabas (
                waba_id text COLLATE "C" PRIMARY KEY,
                account_name text COLLATE "C" NOT NULL REFERENCES accounts (name),
                bound_at timestamptz NOT NULL,
                UNIQUE (waba_id, account_name)
            )""",
            "CREATE INDEX wabas_by_account ON wabas (account_name, bound_at, waba_id)",
            "CREATE INDEX wabas_by_binding_time ON wabas (bound_at, waba_id)",
            """CREATE TABLE bindings (
                phone_number_id text COLLATE "C" PRIMARY KEY,
                waba_id text COLLATE "C" NOT NULL,
                account_name text COLLATE "C" NOT NULL,
                phone_number text NOT NULL,
                bound_at timestamptz NOT NULL,
                FOREIGN KEY (waba_id, account_name) REFERENCES wabas (waba_id, account_name)
            )""",
            "CREATE INDEX bindings_by_account ON bindings (account_name, bound_at, phone_number_id)",
            "CREATE INDEX bindings_by_waba ON bindings (waba_id, account_name)",
            """CREATE TABLE waba_snapshots (
                waba_id text COLLATE "C" PRIMARY KEY REFERENCES wabas (waba_id) ON DELETE CASCADE,
                snapshot jsonb NOT NULL,
                fetched_at timestamptz NOT NULL
            )""",
        ),
    ),
    # History outlives bindings, so neither table refers to `wabas`: unbinding deletes no history.
    Migration(
        2,
        (
            """CREATE TABLE history (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL,
                waba_id text COLLATE "C" NOT NULL,
                phone_number_id text COLLATE "C",
                field text NOT NULL,
                old text,
                new text,
                source text NOT NULL
            )""",
            "CREATE INDEX history_by_time ON history (at, id)",
            "CREATE INDEX history_by_waba ON history (waba_id, at, id)",
            "CREATE INDEX history_by_phone_number ON history (phone_number_id, at, id)",
            """CREATE TABLE webhook_events (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                fingerprint text COLLATE "C" NOT NULL UNIQUE,
                received_at timestamptz NOT NULL,
                object_id text NOT NULL,
                waba_id text COLLATE "C",
                field text NOT NULL,
                event text,
                payload text NOT NULL
            )""",
            "CREATE INDEX webhook_events_by_time ON webhook_events (received_at, id)",
            "CREATE INDEX webhook_events_by_waba ON webhook_events (waba_id, received_at, id)",
        ),
    ),
    # Refresh locks are advisory locks, which die with their connection: only sync claims need a table.
    Migration(
        3,
        (
            """CREATE TABLE sync_claims (
                waba_id text COLLATE "C" PRIMARY KEY,
                holder text NOT NULL,
                claimed_until timestamptz NOT NULL
            )""",
        ),
    ),
    Migration(
        4,
        (
            # Per-account request counters of the rate limit: they matter for a minute, so no WAL.
            """CREATE UNLOGGED TABLE rate_limit_windows (
                account_name text COLLATE "C" NOT NULL,
                window_start bigint NOT NULL,
                count bigint NOT NULL,
                PRIMARY KEY (account_name, window_start)
            )""",
        ),
    ),
    # A rotated key may keep working until `valid_until`; NULL: until the next rotation.
    Migration(5, ("ALTER TABLE api_keys ADD COLUMN valid_until timestamptz",)),
    # Customer events, as on SQLite. Transactions commit side by side here, so writers of one account's events
    # take the account's advisory lock before they draw a `position` (`postgres_events`): positions then follow
    # commit order within an account's feed. The document is `bytea`: the bytes as written, never re-encoded.
    Migration(
        6,
        (
            """CREATE TABLE customer_events (
                position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id text COLLATE "C" NOT NULL UNIQUE,
                account_name text COLLATE "C" NOT NULL,
                waba_id text COLLATE "C" NOT NULL,
                sequence bigint NOT NULL,
                type text NOT NULL,
                created_at timestamptz NOT NULL,
                document bytea NOT NULL,
                UNIQUE (waba_id, sequence)
            )""",
            "CREATE INDEX customer_events_by_account ON customer_events (account_name, position)",
            "CREATE INDEX customer_events_by_time ON customer_events (created_at, position)",
            """CREATE TABLE event_sequences (
                waba_id text COLLATE "C" PRIMARY KEY,
                last_sequence bigint NOT NULL
            )""",
        ),
    ),
    # Callbacks and the deliveries of their events, as on SQLite;
    # workers claim deliveries with `FOR UPDATE SKIP LOCKED` and a lease (`locked_until`), not a held lock.
    Migration(
        7,
        (
            """CREATE TABLE callbacks (
                account_name text COLLATE "C" PRIMARY KEY REFERENCES accounts (name),
                url text NOT NULL,
                types jsonb,
                secret text NOT NULL,
                enabled boolean NOT NULL,
                created_at timestamptz NOT NULL,
                previous_secret text,
                previous_secret_until timestamptz
            )""",
            """CREATE TABLE deliveries (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                event_id text COLLATE "C" NOT NULL UNIQUE,
                account_name text COLLATE "C" NOT NULL REFERENCES accounts (name),
                status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL,
                last_status integer,
                last_error text,
                last_attempt_at timestamptz,
                locked_until timestamptz,
                created_at timestamptz NOT NULL
            )""",
            "CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending'",
            "CREATE INDEX deliveries_pending_by_account ON deliveries (account_name, id) WHERE status = 'pending'",
            "CREATE INDEX deliveries_by_account ON deliveries (account_name, status, last_attempt_at)",
            "CREATE INDEX deliveries_by_attempt ON deliveries (account_name, last_attempt_at)",
            "CREATE INDEX deliveries_by_time ON deliveries (created_at, id)",
        ),
    ),
)


async def apply_migrations(database: PostgresDatabase, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending steps in one transaction; safe to run again, and from several instances at once.

    Refuses a database whose schema is newer than `migrations` know: code that old would misread it.
    """
    known = max(migration.version for migration in migrations)
    async with database.transaction() as connection:
        # Held until commit: an instance that waited sees the steps recorded, and the DDL is all or nothing.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        await connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)"
        )
        recorded = set(await connection.fetchval("SELECT coalesce(array_agg(version), '{}') FROM schema_migrations"))
        if recorded and max(recorded) > known:
            raise StorageNotReady(str(SchemaState(max(recorded), known).problem("the database")))
        applied: list[int] = []
        for migration in migrations:
            if migration.version in recorded:
                continue
            for statement in migration.statements:
                await connection.execute(statement)
            await connection.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", migration.version
            )
            applied.append(migration.version)
    return applied


async def read_schema_state(database: PostgresDatabase, migrations: Sequence[Migration] = MIGRATIONS) -> SchemaState:
    """The newest version the database records against the newest of `migrations`; creates and writes nothing."""
    latest = max(migration.version for migration in migrations)
    [(table,)] = await database.fetch("SELECT to_regclass('schema_migrations')")
    if table is None:
        return SchemaState(None, latest)
    [(recorded,)] = await database.fetch("SELECT max(version) FROM schema_migrations")
    return SchemaState(recorded, latest)
