"""A storage decorator that remembers reads for at most a second (SPEC §3.7).

The hot path — key lookup, WABA owner, snapshot — then usually reads no database, while what another
process writes (a CLI `account disable`, `rotate-key`, `sync`, a webhook received by another worker)
still shows within `max_age_seconds`. Writes made through this process forget what they touch at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from typing import Generic, TypeVar

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
from intwa.domain.ports import SchemaState, Storage
from intwa.domain.shared_tasks import SharedTasks

T = TypeVar("T")

MAX_ENTRIES = 100_000
"""Past this many entries a table starts afresh: memory stays bounded whatever the key space."""


class _Table(Generic[T]):
    """One kind of remembered read: `key -> (expires, value)`, the reads of it under way, and what was forgotten.

    `writes` counts forgets; a read that fills the table for keys it did not ask for (an account's
    snapshots) takes it as a mark first, and skips the keys `forgotten_since` then.
    """

    __slots__ = ("entries", "forgotten", "forgotten_all_at", "loading", "writes")

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, T]] = {}
        self.loading: SharedTasks[T] = SharedTasks("read")
        self.writes = 0
        self.forgotten: dict[str, int] = {}  # key -> `writes` when it was last forgotten
        self.forgotten_all_at = 0  # every key counts as forgotten at this mark

    def remember(self, key: str, expires: float, value: T) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            self.entries.clear()
        self.entries[key] = (expires, value)

    def forget(self, key: str) -> None:
        self.entries.pop(key, None)
        self.loading.forget(key)  # a read under way may have missed the write: later readers don't join it
        self.writes += 1
        if len(self.forgotten) >= MAX_ENTRIES:
            self.forgotten.clear()
            self.forgotten_all_at = self.writes
        self.forgotten[key] = self.writes

    def clear(self) -> None:
        self.entries.clear()
        self.loading.forget_all()
        self.writes += 1
        self.forgotten.clear()
        self.forgotten_all_at = self.writes

    def forgotten_since(self, key: str, mark: int) -> bool:
        """Whether the key was forgotten (a write through this process touched it) after `writes` was `mark`."""
        return self.forgotten.get(key, self.forgotten_all_at) > mark


class ReadCachingStorage:
    """Wraps a `Storage`; caches key lookups, accounts, WABA owners, account WABAs and snapshots.

    Each kind of read has its own table of `key -> (expires, value)`. The cached reads check their table
    inline and await the wrapped storage only on a miss: they run several times per request, and a
    coroutine less per read is measurable there. Concurrent misses of one key share one read of the
    wrapped storage: under load, the moment an entry expires many requests miss it together.
    """

    def __init__(
        self,
        storage: Storage,
        max_age_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._max_age = max_age_seconds
        self._monotonic = monotonic
        self._keys: _Table[ApiKeyOwner | None] = _Table()
        self._accounts: _Table[Account | None] = _Table()
        self._owners: _Table[str | None] = _Table()
        self._account_wabas: _Table[list[str]] = _Table()
        self._snapshots: _Table[WabaSnapshot | None] = _Table()
        # An account's WABAs and their snapshots are read together and remembered in the two tables above.
        self._account_snapshot_reads: SharedTasks[list[tuple[str, WabaSnapshot | None]]] = SharedTasks("read")

    def __repr__(self) -> str:
        return f"ReadCachingStorage({self._storage!r}, max_age_seconds={self._max_age})"

    async def _load(self, table: _Table[T], key: str, read: Callable[[str], Awaitable[T]]) -> T:
        """`read(key)`, remembered in `table` for `max_age_seconds`; joins the same read under way.

        The read runs as a task of its own, so a reader that goes away does not cancel it for the others.
        """
        return await table.loading.join(key, partial(self._read_into, table, key, read))

    async def _read_into(self, table: _Table[T], key: str, read: Callable[[str], Awaitable[T]]) -> T:
        expires = self._monotonic() + self._max_age
        this = asyncio.current_task()
        try:
            value = await read(key)
        finally:
            forgotten = not table.loading.is_current(key, this)  # a write through this process forgot the key
            if not forgotten:
                table.loading.forget(key)
        if not forgotten:
            table.remember(key, expires, value)
        return value

    async def _read_account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        """The wrapped storage's `account_snapshots`, remembered as the account's WABAs and each one's snapshot.

        What a write through this process forgot while the read ran is not remembered: the read may
        have missed the write.
        """
        expires = self._monotonic() + self._max_age
        wabas_mark, snapshots_mark = self._account_wabas.writes, self._snapshots.writes
        wabas = await self._storage.account_snapshots(account_name)
        if not self._account_wabas.forgotten_since(account_name, wabas_mark):
            self._account_wabas.remember(account_name, expires, [waba_id for waba_id, _ in wabas])
        for waba_id, snapshot in wabas:
            if not self._snapshots.forgotten_since(waba_id, snapshots_mark):
                self._snapshots.remember(waba_id, expires, snapshot)
        return wabas

    def _forget_accounts(self) -> None:
        """What an account's or key's change can touch: every key lookup (it carries the account) and account."""
        self._keys.clear()
        self._accounts.clear()

    def _forget_binding(self, account_name: str, waba_id: str) -> None:
        """What a binding's change can touch: the WABA's owner and snapshot, and the account's WABAs."""
        self._owners.forget(waba_id)
        self._forget_snapshot(waba_id)
        self._account_wabas.forget(account_name)

    def _forget_snapshot(self, waba_id: str) -> None:
        """The WABA's snapshot, and every account's read under way: one of them may be the WABA's account."""
        self._snapshots.forget(waba_id)
        self._account_snapshot_reads.forget_all()

    # cached reads
    async def find_key_owner(self, key_hash: str) -> ApiKeyOwner | None:
        # Remembered with the key's end: `Authenticate` compares that end with the clock on every call.
        entry = self._keys.entries.get(key_hash)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._keys, key_hash, self._storage.find_key_owner)

    async def get_account(self, name: str) -> Account | None:
        entry = self._accounts.entries.get(name)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._accounts, name, self._storage.get_account)

    async def waba_owner(self, waba_id: str) -> str | None:
        entry = self._owners.entries.get(waba_id)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._owners, waba_id, self._storage.waba_owner)

    async def account_waba_ids(self, account_name: str) -> list[str]:
        entry = self._account_wabas.entries.get(account_name)
        if entry is not None and entry[0] > self._monotonic():
            return list(entry[1])
        waba_ids = await self._load(self._account_wabas, account_name, self._storage.account_waba_ids)
        return list(waba_ids)

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        entry = self._snapshots.entries.get(waba_id)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._snapshots, waba_id, self._storage.get_snapshot)

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        now = self._monotonic()
        entry = self._account_wabas.entries.get(account_name)
        if entry is not None and entry[0] > now:
            snapshots = self._snapshots.entries
            wabas: list[tuple[str, WabaSnapshot | None]] = []
            for waba_id in entry[1]:
                remembered = snapshots.get(waba_id)
                if remembered is None or remembered[0] <= now:
                    break
                wabas.append((waba_id, remembered[1]))
            else:
                return wabas
        wabas = await self._account_snapshot_reads.join(
            account_name, partial(self._read_account_snapshots, account_name)
        )
        return list(wabas)

    # reads passed through
    async def migrate(self) -> list[int]:
        return await self._storage.migrate()

    async def ping(self) -> None:
        await self._storage.ping()

    async def schema_state(self) -> SchemaState:
        return await self._storage.schema_state()

    async def list_accounts(self) -> list[AccountSummary]:
        return await self._storage.list_accounts()

    async def find_binding(self, phone_number_id: str) -> Binding | None:
        return await self._storage.find_binding(phone_number_id)

    async def list_bindings(self, account_name: str | None = None) -> list[Binding]:
        return await self._storage.list_bindings(account_name)

    async def all_bound_waba_ids(self) -> list[str]:
        return await self._storage.all_bound_waba_ids()

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        return await self._storage.list_history(waba_id, phone_number_id)

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        return await self._storage.list_webhook_events(waba_id)

    async def read_events(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        # Never remembered: a consumer reads on from the last event it saw, and must see one just written.
        return await self._storage.read_events(account_name, after=after, limit=limit, since=since)

    # writes: accounts and keys are rare, so they forget every key and account; bindings forget their WABA
    async def create_account(self, name: str, key_hash: str, now: datetime) -> Account:
        try:
            return await self._storage.create_account(name, key_hash, now)
        finally:
            self._forget_accounts()

    async def set_account_enabled(self, name: str, enabled: bool) -> Account:
        try:
            return await self._storage.set_account_enabled(name, enabled)
        finally:
            self._forget_accounts()

    async def rotate_api_keys(
        self, name: str, key_hash: str, now: datetime, old_keys_until: datetime
    ) -> datetime | None:
        try:
            return await self._storage.rotate_api_keys(name, key_hash, now, old_keys_until)
        finally:
            self._forget_accounts()

    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot, *, source: ChangeSource = "bind") -> Binding:
        try:
            return await self._storage.add_binding(binding, snapshot, source=source)
        finally:
            self._forget_binding(binding.account_name, binding.waba_id)

    async def remove_binding(
        self, account_name: str, waba_id: str, phone_number_id: str, *, source: ChangeSource = "request"
    ) -> Binding:
        try:
            return await self._storage.remove_binding(account_name, waba_id, phone_number_id, source=source)
        finally:
            self._forget_binding(account_name, waba_id)

    # writes: snapshots forget only their own WABA
    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        try:
            return await self._storage.save_snapshot(snapshot, source)
        finally:
            self._forget_snapshot(snapshot.waba.id)

    async def set_waba_review_status(
        self, waba_id: str, review_status: str, at: datetime, source: ChangeSource
    ) -> list[Change]:
        try:
            return await self._storage.set_waba_review_status(waba_id, review_status, at, source)
        finally:
            self._forget_snapshot(waba_id)

    @asynccontextmanager
    async def lock_refresh(self, waba_id: str) -> AsyncIterator[WabaSnapshot | None]:
        # What the lock yields is read from the store; after it, a snapshot remembered from before is
        # outdated (a refresher stored a newer one), so it is forgotten.
        try:
            async with self._storage.lock_refresh(waba_id) as snapshot:
                yield snapshot
        finally:
            self._forget_snapshot(waba_id)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        return await self._storage.claim_for_sync(waba_id, holder, until, now)

    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        return await self._storage.record_webhook_event(event)

    async def prune_webhook_events(self, before: datetime) -> int:
        return await self._storage.prune_webhook_events(before)

    async def prune_events(self, before: datetime) -> int:
        return await self._storage.prune_events(before)
