"""A storage decorator that remembers reads for at most a second (SPEC §3.7).

The hot path — key lookup, WABA owner, snapshot — then usually reads no database, while what another
process writes (a CLI `account disable`, `rotate-key`, `sync`, a webhook received by another worker)
still shows within `max_age_seconds`. Writes made through this process forget what they touch at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TypeVar

from intwa.domain.models import (
    Account,
    AccountSummary,
    Binding,
    Change,
    ChangeSource,
    WabaSnapshot,
    WebhookEvent,
)
from intwa.domain.ports import Storage

T = TypeVar("T")

MAX_ENTRIES = 100_000
"""Past this many entries a table starts afresh: memory stays bounded whatever the key space."""


class ReadCachingStorage:
    """Wraps a `Storage`; caches key lookups, accounts, WABA owners, account WABAs and snapshots.

    Each kind of read has its own table of `key -> (expires, value)`. The cached reads check their table
    inline and await the wrapped storage only on a miss: they run several times per request, and a
    coroutine less per read is measurable there.
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
        self._keys: dict[str, tuple[float, Account | None]] = {}
        self._accounts: dict[str, tuple[float, Account | None]] = {}
        self._owners: dict[str, tuple[float, str | None]] = {}
        self._account_wabas: dict[str, tuple[float, list[str]]] = {}
        self._snapshots: dict[str, tuple[float, WabaSnapshot | None]] = {}

    def __repr__(self) -> str:
        return f"ReadCachingStorage({self._storage!r}, max_age_seconds={self._max_age})"

    async def _load(self, table: dict[str, tuple[float, T]], key: str, read: Callable[[str], Awaitable[T]]) -> T:
        """`read(key)`, remembered in `table` for `max_age_seconds`."""
        expires = self._monotonic() + self._max_age
        value = await read(key)
        if len(table) >= MAX_ENTRIES:
            table.clear()
        table[key] = (expires, value)
        return value

    def _forget_snapshot(self, waba_id: str) -> None:
        self._snapshots.pop(waba_id, None)

    def _forget_accounts(self) -> None:
        """What an account's or key's change can touch: every key lookup (it carries the account) and account."""
        self._keys.clear()
        self._accounts.clear()

    def _forget_binding(self, account_name: str, waba_id: str) -> None:
        """What a binding's change can touch: the WABA's owner and snapshot, and the account's WABAs."""
        self._owners.pop(waba_id, None)
        self._snapshots.pop(waba_id, None)
        self._account_wabas.pop(account_name, None)

    # cached reads
    async def find_account_by_key_hash(self, key_hash: str) -> Account | None:
        entry = self._keys.get(key_hash)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._keys, key_hash, self._storage.find_account_by_key_hash)

    async def get_account(self, name: str) -> Account | None:
        entry = self._accounts.get(name)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._accounts, name, self._storage.get_account)

    async def waba_owner(self, waba_id: str) -> str | None:
        entry = self._owners.get(waba_id)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._owners, waba_id, self._storage.waba_owner)

    async def account_waba_ids(self, account_name: str) -> list[str]:
        entry = self._account_wabas.get(account_name)
        if entry is not None and entry[0] > self._monotonic():
            return list(entry[1])
        waba_ids = await self._load(self._account_wabas, account_name, self._storage.account_waba_ids)
        return list(waba_ids)

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        entry = self._snapshots.get(waba_id)
        if entry is not None and entry[0] > self._monotonic():
            return entry[1]
        return await self._load(self._snapshots, waba_id, self._storage.get_snapshot)

    # reads passed through
    async def migrate(self) -> list[int]:
        return await self._storage.migrate()

    async def ping(self) -> None:
        await self._storage.ping()

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

    async def replace_api_keys(self, name: str, key_hash: str, now: datetime) -> None:
        try:
            await self._storage.replace_api_keys(name, key_hash, now)
        finally:
            self._forget_accounts()

    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot) -> Binding:
        try:
            return await self._storage.add_binding(binding, snapshot)
        finally:
            self._forget_binding(binding.account_name, binding.waba_id)

    async def remove_binding(self, account_name: str, waba_id: str, phone_number_id: str) -> Binding:
        try:
            return await self._storage.remove_binding(account_name, waba_id, phone_number_id)
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

    async def expire_snapshot(self, waba_id: str) -> None:
        try:
            await self._storage.expire_snapshot(waba_id)
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
