"""The PostgreSQL storage adapter: what the SQLite one keeps, in a database that several intwa instances share."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from datetime import datetime

import asyncpg
import msgspec

from intwa.adapters.clock import SystemClock
from intwa.adapters.storage import postgres_history as history
from intwa.adapters.storage.postgres_coordination import PostgresCoordination
from intwa.adapters.storage.postgres_database import (
    SQL,
    Connection,
    PostgresDatabase,
    from_timestamptz,
    open_postgres_pool,
)
from intwa.adapters.storage.postgres_events import PostgresEvents
from intwa.adapters.storage.postgres_migrations import apply_migrations, read_schema_state
from intwa.adapters.storage.rows import (
    account_from_row,
    account_summary_from_row,
    aware_utc,
    binding_from_row,
    binding_parameters,
    change_from_row,
    decode_snapshot,
    key_owner_from_row,
    webhook_event_from_row,
    webhook_event_parameters,
)
from intwa.adapters.storage.statements import PRUNE_BATCH_ROWS
from intwa.adapters.wake_up import WakeUp
from intwa.domain.accounts import retire_old_keys
from intwa.domain.binding_conflicts import check_binding_conflicts
from intwa.domain.errors import AccountAlreadyExists, AccountNotFound, BindingNotFound
from intwa.domain.events import account_update_event, binding_event
from intwa.domain.models import (
    Account,
    AccountSummary,
    ApiKeyOwner,
    Binding,
    Change,
    ChangeSource,
    CustomerEvent,
    WabaSnapshot,
    WebhookEvent,
)
from intwa.domain.ports import Clock, EventsWritten, SchemaState

__all__ = ["PostgresDatabase", "PostgresStorage", "open_postgres_pool"]

BIND_ATTEMPTS = 5
"""A bind starts over when an unbind released its WABA between two of its statements; this many times."""

# The WABA's row first: a bind of another of its numbers either commits before an unbind looks for the
# WABA's last binding, or waits and finds the WABA gone, and starts over.
_LOCK_ACCOUNT_WABA = "SELECT 1 FROM wabas WHERE waba_id = $1 AND account_name = $2 FOR UPDATE"
_LOCK_ACCOUNT = "SELECT 1 FROM accounts WHERE name = $1 FOR UPDATE"


class PostgresStorage:
    """The `Storage` port on PostgreSQL; conflicts are decided by the schema's keys, as on SQLite.

    Snapshot writes lock the WABA's row and compare against the snapshot stored under that lock
    (`postgres_history`), so racing writers, in this instance or in another, never record one change
    twice. Customer events are written in the transaction of what caused them (`PostgresEventWriter`), and
    `events_written` hears of them once it has committed. Refresh locks and sync claims are
    `PostgresCoordination`'s.
    """

    def __init__(
        self, database: PostgresDatabase, *, clock: Clock | None = None, events_written: EventsWritten | None = None
    ) -> None:
        self._database = database
        self._coordination = PostgresCoordination(database)
        self._events = PostgresEvents(database, clock or SystemClock(), events_written or WakeUp())

    async def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied now."""
        return await apply_migrations(self._database)

    async def schema_state(self) -> SchemaState:
        """Where the schema stands against this code's migrations; reads only."""
        return await read_schema_state(self._database)

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        await self._database.fetch("SELECT 1")

    async def create_account(self, name: str, key_hash: str, now: datetime) -> Account:
        """Store a new enabled account with one key; `AccountAlreadyExists` if the name is taken."""
        created_at = aware_utc(now)
        async with self._database.transaction() as connection:
            try:
                await connection.execute(SQL.insert_account, name, True, created_at)
            except asyncpg.UniqueViolationError as error:
                raise AccountAlreadyExists(f"an account named `{name}` exists already") from error
            await connection.execute(SQL.insert_api_key, key_hash, name, created_at)
        return Account(name=name, enabled=True, created_at=created_at)

    async def get_account(self, name: str) -> Account | None:
        """The account of that name, if any."""
        rows = await self._database.fetch(SQL.get_account, name)
        return account_from_row(rows[0], from_timestamptz) if rows else None

    async def find_key_owner(self, key_hash: str) -> ApiKeyOwner | None:
        """The account that holds the key with this hash and the key's end, if the key is known."""
        rows = await self._database.fetch(SQL.find_key_owner, key_hash)
        return key_owner_from_row(rows[0], from_timestamptz) if rows else None

    async def list_accounts(self) -> list[AccountSummary]:
        """All accounts by name, with their WABA and binding counts."""
        return [
            account_summary_from_row(row, from_timestamptz) for row in await self._database.fetch(SQL.list_accounts)
        ]

    async def set_account_enabled(self, name: str, enabled: bool) -> Account:
        """Enable or disable an account; `AccountNotFound` if there is none."""
        rows = await self._database.fetch(SQL.set_account_enabled, enabled, name)
        if not rows:
            raise AccountNotFound(f"no account named `{name}`")
        return account_from_row(rows[0], from_timestamptz)

    async def rotate_api_keys(
        self, name: str, key_hash: str, now: datetime, old_keys_until: datetime
    ) -> datetime | None:
        """Add the account's new key and end its older ones as `retire_old_keys` decides, in one transaction.

        The account's row is locked first: a racing rotation waits, then sees this one's new key among the old.
        """
        async with self._database.transaction() as connection:
            if not await connection.fetch(_LOCK_ACCOUNT, name):
                raise AccountNotFound(f"no account named `{name}`")
            keys = await connection.fetch(SQL.account_api_keys, name)
            old = retire_old_keys(((row[0], row[1]) for row in keys), aware_utc(old_keys_until), aware_utc(now))
            await connection.executemany(SQL.delete_api_key, [(hash_,) for hash_ in old.deleted])
            await connection.executemany(SQL.set_api_key_valid_until, [(end, hash_) for hash_, end in old.valid_until])
            await connection.execute(SQL.insert_api_key, key_hash, name, aware_utc(now))
        return old.last_valid()

    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot, *, source: ChangeSource = "bind") -> Binding:
        """Store a binding, its WABA's ownership and the WABA's snapshot in one transaction.

        The schema refuses what conflicts; the refusal is then explained by what is committed, which
        includes the racing bind that won: PostgreSQL makes a conflicting insert wait for it. A new
        binding writes `binding.created` after the events of the changes its snapshot brings.
        """
        if snapshot.waba.id != binding.waba_id:
            raise ValueError(f"the snapshot of WABA `{snapshot.waba.id}` cannot go with WABA `{binding.waba_id}`")
        binding = msgspec.structs.replace(binding, bound_at=aware_utc(binding.bound_at))
        for _ in range(BIND_ATTEMPTS):
            async with self._events.writing() as (connection, events):
                stored = await _insert_binding(connection, binding)
                if stored is not None:
                    await history.replace_snapshot(connection, snapshot, source, events)
                    if stored is binding:
                        await events.write([binding_event(stored, created=True, source=source, at=events.now)])
            if stored is not None:
                return stored
        raise RuntimeError(f"WABA `{binding.waba_id}` was released {BIND_ATTEMPTS} times while binding to it")

    async def remove_binding(
        self, account_name: str, waba_id: str, phone_number_id: str, *, source: ChangeSource = "request"
    ) -> Binding:
        """Remove a binding and write `binding.removed`; the WABA and its snapshot go with its last binding.

        `BindingNotFound` if there is none. The WABA's history and events stay: history outlives bindings.
        """
        async with self._events.writing() as (connection, events):
            await connection.execute(_LOCK_ACCOUNT_WABA, waba_id, account_name)
            rows = await connection.fetch(SQL.delete_binding, phone_number_id, account_name, waba_id)
            if not rows:
                raise BindingNotFound(
                    f"account `{account_name}` has no binding of phone number `{phone_number_id}` in WABA `{waba_id}`"
                )
            await connection.execute(SQL.delete_unbound_waba, waba_id, waba_id)
            removed = binding_from_row(rows[0], from_timestamptz)
            await events.write([binding_event(removed, created=False, source=source, at=events.now)])
        return removed

    async def find_binding(self, phone_number_id: str) -> Binding | None:
        """The binding of a phone number, whichever account holds it."""
        rows = await self._database.fetch(SQL.find_binding, phone_number_id)
        return binding_from_row(rows[0], from_timestamptz) if rows else None

    async def waba_owner(self, waba_id: str) -> str | None:
        """The name of the account the WABA is bound to, if any."""
        rows = await self._database.fetch(SQL.waba_owner, waba_id)
        return str(rows[0][0]) if rows else None

    async def list_bindings(self, account_name: str | None = None) -> list[Binding]:
        """Bindings of one account, or of all, by account, binding time and phone number id."""
        if account_name is None:
            rows = await self._database.fetch(SQL.list_bindings)
        else:
            rows = await self._database.fetch(SQL.list_account_bindings, account_name)
        return [binding_from_row(row, from_timestamptz) for row in rows]

    async def account_waba_ids(self, account_name: str) -> list[str]:
        """The WABAs bound to an account, ordered by first binding time."""
        rows = await self._database.fetch(SQL.account_waba_ids, account_name)
        return [waba_id for (waba_id,) in rows]

    async def all_bound_waba_ids(self) -> list[str]:
        """Every bound WABA, ordered by first binding time."""
        rows = await self._database.fetch(SQL.all_bound_waba_ids)
        return [waba_id for (waba_id,) in rows]

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        """The WABA's last stored snapshot, if it is bound and has one."""
        rows = await self._database.fetch(SQL.get_snapshot, waba_id)
        return decode_snapshot(rows[0][0]) if rows else None

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        """Every WABA bound to the account with its stored snapshot, if any, by first binding time; one query."""
        rows = await self._database.fetch(SQL.account_snapshots, account_name)
        return [(waba_id, None if encoded is None else decode_snapshot(encoded)) for waba_id, encoded in rows]

    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        """Replace the WABA's snapshot and record what changed; `[]` and nothing stored if it is unbound."""
        async with self._events.writing() as (connection, events):
            return await history.replace_snapshot(connection, snapshot, source, events)

    async def set_waba_review_status(
        self, waba_id: str, review_status: str, at: datetime, source: ChangeSource
    ) -> list[Change]:
        """Set the review status in the WABA's snapshot and record the change; `[]` if unchanged or unbound.

        The snapshot keeps its fetch time: the rest of its data is no fresher than before.
        """
        async with self._events.writing() as (connection, events):
            return await history.set_review_status(connection, waba_id, review_status, at, source, events)

    def lock_refresh(self, waba_id: str) -> AbstractAsyncContextManager[WabaSnapshot | None]:
        """Hold the WABA's refresh lock, shared by every instance on this database; yields the stored snapshot."""
        return self._coordination.lock_refresh(waba_id)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        """Claim the WABA for `holder`'s background sync until `until`; False while another holds it."""
        return await self._coordination.claim_for_sync(waba_id, holder, until, now)

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        """Recorded changes, oldest first (in recording order for equal times), optionally filtered."""
        sql, arguments = SQL.history_query(waba_id, phone_number_id)
        return [change_from_row(row, from_timestamptz) for row in await self._database.fetch(sql, *arguments)]

    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        """Keep a webhook event, and its customer event if it has one; False when it is recorded already."""
        async with self._events.writing() as (connection, events):
            inserted = await connection.fetch(SQL.record_webhook_event, *webhook_event_parameters(event, aware_utc))
            owner = await connection.fetchval(SQL.waba_owner, event.waba_id) if inserted else None
            draft = account_update_event(owner, event) if owner is not None else None
            if draft is not None:
                await events.write([draft])
        return bool(inserted)

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        """Recorded webhook events, oldest first (in recording order for equal times), optionally of one WABA."""
        if waba_id is None:
            rows = await self._database.fetch(SQL.list_webhook_events)
        else:
            rows = await self._database.fetch(SQL.list_waba_webhook_events, waba_id)
        return [webhook_event_from_row(row, from_timestamptz) for row in rows]

    async def prune_webhook_events(self, before: datetime) -> int:
        """Delete the webhook events received before `before`, oldest first, a batch per statement; how many."""
        return await self._prune(SQL.prune_webhook_events, before)

    async def read_events(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        """At most `limit` of the account's events written since `since`, after `after`; None for an unknown `after`."""
        return await self._events.read(account_name, after=after, limit=limit, since=since)

    async def prune_events(self, before: datetime) -> int:
        """Delete the customer events written before `before`, oldest first, a batch per statement; how many."""
        return await self._prune(SQL.prune_events, before)

    async def _prune(self, statement: str, before: datetime) -> int:
        arguments = (aware_utc(before), PRUNE_BATCH_ROWS)
        pruned = 0
        while True:
            deleted = len(await self._database.fetch(statement, *arguments))
            pruned += deleted
            if deleted < PRUNE_BATCH_ROWS:
                return pruned


async def _insert_binding(connection: Connection, binding: Binding) -> Binding | None:
    """Insert the binding (and its WABA's ownership) and lock the WABA's row; the stored binding.

    None when the WABA was released by a concurrent unbind between the statements: the caller starts over.
    """
    try:
        await connection.execute(SQL.insert_waba, binding.waba_id, binding.account_name, binding.bound_at)
    except asyncpg.ForeignKeyViolationError as error:  # the WABA's only reference is its account
        raise AccountNotFound(f"no account named `{binding.account_name}`") from error
    # Snapshot writers of this WABA wait from here until the transaction ends (see `replace_snapshot`).
    if await connection.fetchval(history.LOCK_WABA, binding.waba_id) is None:
        return None
    try:
        async with connection.transaction():  # a savepoint: a refused insert leaves the transaction usable
            await connection.execute(SQL.insert_binding, *binding_parameters(binding, binding.bound_at))
    except asyncpg.IntegrityConstraintViolationError:
        existing = await _binding_in_the_way(connection, binding)
        if existing is None:
            raise  # no conflict the domain knows of: a bug to see, not a user's error
        return existing
    return binding


async def _binding_in_the_way(connection: Connection, binding: Binding) -> Binding | None:
    """The same binding stored already, or raise the domain error that explains why the schema refused it."""
    if not await connection.fetch(SQL.account_exists, binding.account_name):
        raise AccountNotFound(f"no account named `{binding.account_name}`")
    rows = await connection.fetch(SQL.find_binding, binding.phone_number_id)
    return check_binding_conflicts(
        binding.account_name,
        binding.waba_id,
        binding.phone_number_id,
        phone_binding=binding_from_row(rows[0], from_timestamptz) if rows else None,
        waba_owner=await connection.fetchval(SQL.waba_owner, binding.waba_id),
    )
