"""The SQLite storage adapter: accounts, keys, bindings, snapshots and history in one WAL-mode file (SPEC §7)."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

import aiosqlite
import msgspec

from intwa.adapters.storage.sqlite_coordination import SqliteCoordination
from intwa.adapters.storage.sqlite_database import (
    SqliteDatabase,
    fetch_together,
    from_utc_text,
    open_sqlite_database,
    utc_text,
)
from intwa.adapters.storage.sqlite_history import SqliteHistory, insert_first_snapshot, replace_snapshot
from intwa.adapters.storage.sqlite_migrations import apply_migrations
from intwa.domain.binding_conflicts import check_binding_conflicts
from intwa.domain.errors import AccountAlreadyExists, AccountNotFound, BindingNotFound
from intwa.domain.models import Account, AccountSummary, Binding, WabaSnapshot

__all__ = ["SqliteDatabase", "SqliteStorage", "open_sqlite_database"]


class SqliteStorage(SqliteHistory):
    """The `Storage` port on SQLite; conflicts are decided by the schema's keys inside one transaction.

    Snapshots, their history and webhook events are the part inherited from `SqliteHistory`; refresh
    locks and sync claims are `SqliteCoordination`'s.
    """

    def __init__(self, database: SqliteDatabase) -> None:
        super().__init__(database)
        self._coordination = SqliteCoordination(database)

    async def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied now."""
        return await apply_migrations(self._database)

    async def ping(self) -> None:
        """Raise if the database does not answer."""
        await self._database.fetch_all("SELECT 1")

    async def create_account(self, name: str, key_hash: str, now: datetime) -> Account:
        """Store a new enabled account with one key; `AccountAlreadyExists` if the name is taken."""
        created_at = utc_text(now)
        async with self._database.transaction() as connection:
            try:
                await connection.execute(
                    "INSERT INTO accounts (name, enabled, created_at) VALUES (?, 1, ?)", (name, created_at)
                )
            except sqlite3.IntegrityError as error:
                raise AccountAlreadyExists(f"an account named `{name}` exists already") from error
            await connection.execute(
                "INSERT INTO api_keys (key_hash, account_name, created_at) VALUES (?, ?, ?)",
                (key_hash, name, created_at),
            )
        return Account(name=name, enabled=True, created_at=from_utc_text(created_at))

    async def get_account(self, name: str) -> Account | None:
        """The account of that name, if any."""
        rows = await self._database.fetch_all("SELECT name, enabled, created_at FROM accounts WHERE name = ?", (name,))
        return _account(rows[0]) if rows else None

    async def find_account_by_key_hash(self, key_hash: str) -> Account | None:
        """The account that holds the key with this hash, if any."""
        rows = await self._database.fetch_all(
            "SELECT a.name, a.enabled, a.created_at FROM api_keys AS k JOIN accounts AS a ON a.name = k.account_name"
            " WHERE k.key_hash = ?",
            (key_hash,),
        )
        return _account(rows[0]) if rows else None

    async def list_accounts(self) -> list[AccountSummary]:
        """All accounts by name, with their WABA and binding counts."""
        rows = await self._database.fetch_all(
            """SELECT a.name, a.enabled, a.created_at,
                   (SELECT count(*) FROM wabas AS w WHERE w.account_name = a.name),
                   (SELECT count(*) FROM bindings AS b WHERE b.account_name = a.name)
               FROM accounts AS a ORDER BY a.name"""
        )
        return [
            AccountSummary(
                name=name,
                enabled=bool(enabled),
                created_at=from_utc_text(created_at),
                waba_count=waba_count,
                binding_count=binding_count,
            )
            for name, enabled, created_at, waba_count, binding_count in rows
        ]

    async def set_account_enabled(self, name: str, enabled: bool) -> Account:
        """Enable or disable an account; `AccountNotFound` if there is none."""
        async with self._database.transaction() as connection:
            rows = await _fetch_all(
                connection,
                "UPDATE accounts SET enabled = ? WHERE name = ? RETURNING name, enabled, created_at",
                (enabled, name),
            )
        if not rows:
            raise AccountNotFound(f"no account named `{name}`")
        return _account(rows[0])

    async def replace_api_keys(self, name: str, key_hash: str, now: datetime) -> None:
        """Make `key_hash` the account's only key, in one transaction; `AccountNotFound` if there is none."""
        async with self._database.transaction() as connection:
            if not await _account_exists(connection, name):
                raise AccountNotFound(f"no account named `{name}`")
            await connection.execute("DELETE FROM api_keys WHERE account_name = ?", (name,))
            await connection.execute(
                "INSERT INTO api_keys (key_hash, account_name, created_at) VALUES (?, ?, ?)",
                (key_hash, name, utc_text(now)),
            )

    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot) -> Binding:
        """Store a binding, its WABA's ownership and the WABA's snapshot in one transaction.

        The schema refuses what conflicts; the refusal is then explained by what the transaction sees.
        Changes against a snapshot stored already (another phone number of the WABA is bound) are
        recorded with source `bind`.
        """
        if snapshot.waba.id != binding.waba_id:
            raise ValueError(f"the snapshot of WABA `{snapshot.waba.id}` cannot go with WABA `{binding.waba_id}`")
        bound_at = utc_text(binding.bound_at)
        async with self._database.transaction() as connection:
            try:
                # Queued together; a WABA's first binding finds no snapshot stored, and is done in these three.
                _, _, first_snapshot = await fetch_together(
                    connection,
                    (
                        "INSERT INTO wabas (waba_id, account_name, bound_at) VALUES (?, ?, ?)"
                        " ON CONFLICT (waba_id) DO NOTHING",
                        (binding.waba_id, binding.account_name, bound_at),
                    ),
                    (
                        "INSERT INTO bindings (phone_number_id, waba_id, account_name, phone_number, bound_at)"
                        " VALUES (?, ?, ?, ?, ?)",
                        (
                            binding.phone_number_id,
                            binding.waba_id,
                            binding.account_name,
                            binding.phone_number,
                            bound_at,
                        ),
                    ),
                    insert_first_snapshot(snapshot),
                )
                stored = msgspec.structs.replace(binding, bound_at=from_utc_text(bound_at))
            except sqlite3.IntegrityError:
                existing = await _binding_in_the_way(connection, binding)
                if existing is None:
                    raise  # no conflict the domain knows of: a bug to see, not a user's error
                stored, first_snapshot = existing, []
            if not first_snapshot:  # a snapshot was stored before: compared, and replaced if older
                await replace_snapshot(connection, snapshot, "bind")
        return stored

    async def remove_binding(self, account_name: str, waba_id: str, phone_number_id: str) -> Binding:
        """Remove a binding; the WABA and its snapshot go with its last binding. `BindingNotFound` if none.

        The WABA's history and webhook events stay: history outlives bindings.
        """
        async with self._database.transaction() as connection:
            rows = await _fetch_all(
                connection,
                "DELETE FROM bindings WHERE phone_number_id = ? AND account_name = ? AND waba_id = ?"
                " RETURNING account_name, waba_id, phone_number_id, phone_number, bound_at",
                (phone_number_id, account_name, waba_id),
            )
            if not rows:
                raise BindingNotFound(
                    f"account `{account_name}` has no binding of phone number `{phone_number_id}` in WABA `{waba_id}`"
                )
            await connection.execute(
                "DELETE FROM wabas WHERE waba_id = ? AND NOT EXISTS (SELECT 1 FROM bindings WHERE waba_id = ?)",
                (waba_id, waba_id),
            )
        return _binding(rows[0])

    async def find_binding(self, phone_number_id: str) -> Binding | None:
        """The binding of a phone number, whichever account holds it."""
        rows = await self._database.fetch_all(
            "SELECT account_name, waba_id, phone_number_id, phone_number, bound_at FROM bindings"
            " WHERE phone_number_id = ?",
            (phone_number_id,),
        )
        return _binding(rows[0]) if rows else None

    async def waba_owner(self, waba_id: str) -> str | None:
        """The name of the account the WABA is bound to, if any."""
        rows = await self._database.fetch_all("SELECT account_name FROM wabas WHERE waba_id = ?", (waba_id,))
        return str(rows[0][0]) if rows else None

    async def list_bindings(self, account_name: str | None = None) -> list[Binding]:
        """Bindings of one account, or of all, by account, binding time and phone number id."""
        if account_name is None:
            rows = await self._database.fetch_all(
                "SELECT account_name, waba_id, phone_number_id, phone_number, bound_at FROM bindings"
                " ORDER BY account_name, bound_at, phone_number_id"
            )
        else:
            rows = await self._database.fetch_all(
                "SELECT account_name, waba_id, phone_number_id, phone_number, bound_at FROM bindings"
                " WHERE account_name = ? ORDER BY bound_at, phone_number_id",
                (account_name,),
            )
        return [_binding(row) for row in rows]

    async def account_waba_ids(self, account_name: str) -> list[str]:
        """The WABAs bound to an account, ordered by first binding time."""
        rows = await self._database.fetch_all(
            "SELECT waba_id FROM wabas WHERE account_name = ? ORDER BY bound_at, waba_id", (account_name,)
        )
        return [waba_id for (waba_id,) in rows]

    async def all_bound_waba_ids(self) -> list[str]:
        """Every bound WABA, ordered by first binding time."""
        rows = await self._database.fetch_all("SELECT waba_id FROM wabas ORDER BY bound_at, waba_id")
        return [waba_id for (waba_id,) in rows]

    def lock_refresh(self, waba_id: str) -> AbstractAsyncContextManager[WabaSnapshot | None]:
        """Hold the WABA's refresh lease, shared by every process on this file; yields the stored snapshot."""
        return self._coordination.lock_refresh(waba_id, self.get_snapshot)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        """Claim the WABA for `holder`'s background sync until `until`; False while another holds it."""
        return await self._coordination.claim_for_sync(waba_id, holder, until, now)


async def _binding_in_the_way(connection: aiosqlite.Connection, binding: Binding) -> Binding | None:
    """The same binding stored already, or raise the domain error that explains why the schema refused it."""
    accounts, bindings, owners = await fetch_together(
        connection,
        ("SELECT 1 FROM accounts WHERE name = ?", (binding.account_name,)),
        (
            "SELECT account_name, waba_id, phone_number_id, phone_number, bound_at FROM bindings"
            " WHERE phone_number_id = ?",
            (binding.phone_number_id,),
        ),
        ("SELECT account_name FROM wabas WHERE waba_id = ?", (binding.waba_id,)),
    )
    if not accounts:
        raise AccountNotFound(f"no account named `{binding.account_name}`")
    return check_binding_conflicts(
        binding.account_name,
        binding.waba_id,
        binding.phone_number_id,
        phone_binding=_binding(bindings[0]) if bindings else None,
        waba_owner=owners[0][0] if owners else None,
    )


async def _account_exists(connection: aiosqlite.Connection, name: str) -> bool:
    return bool(await _fetch_all(connection, "SELECT 1 FROM accounts WHERE name = ?", (name,)))


async def _fetch_all(connection: aiosqlite.Connection, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
    return list(await connection.execute_fetchall(sql, parameters))


def _account(row: Any) -> Account:
    name, enabled, created_at = row
    return Account(name=name, enabled=bool(enabled), created_at=from_utc_text(created_at))


def _binding(row: Any) -> Binding:
    account_name, waba_id, phone_number_id, phone_number, bound_at = row
    return Binding(
        account_name=account_name,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        phone_number=phone_number,
        bound_at=from_utc_text(bound_at),
    )
