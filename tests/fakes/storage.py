"""An in-memory `Storage` for domain tests; the storage contract suite keeps it honest against SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import msgspec

from intwa.adapters.wake_up import WakeUp
from intwa.domain.accounts import retire_old_keys
from intwa.domain.binding_conflicts import check_binding_conflicts
from intwa.domain.errors import AccountAlreadyExists, AccountNotFound, BindingNotFound, StorageUnavailable
from intwa.domain.events import EventDraft, account_update_event, binding_event, issue, snapshot_events
from intwa.domain.history import changes_on_replace, with_review_status
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


class _OwnedWaba(msgspec.Struct, frozen=True):
    account_name: str
    bound_at: datetime


class _SyncClaim(msgspec.Struct, frozen=True):
    holder: str
    until: datetime


class InMemoryStorage:
    """The `Storage` port in dictionaries. Every method runs without awaiting, so each one is atomic.

    Several `Snapshots` or `BackgroundSync` over one instance stand for several intwa instances on one
    database: they share its refresh locks and sync claims.
    """

    def __init__(self, *, clock: Clock | None = None, events_written: EventsWritten | None = None) -> None:
        self._clock = clock
        self.events_written = events_written or WakeUp()
        self.events: list[CustomerEvent] = []  # in the order written: the feed's order
        self.event_sequences: dict[str, int] = {}
        self.accounts: dict[str, Account] = {}
        self.key_hashes: dict[str, tuple[str, datetime | None]] = {}  # key hash -> account name, valid until
        self.wabas: dict[str, _OwnedWaba] = {}
        self.bindings: dict[str, Binding] = {}  # phone number id -> binding
        self.snapshots: dict[str, WabaSnapshot] = {}
        self.history: list[Change] = []  # in recording order; outlives bindings
        self.webhook_events: dict[str, WebhookEvent] = {}  # fingerprint -> event, in recording order
        self.refresh_locks: dict[str, asyncio.Lock] = {}
        self.sync_claims: dict[str, _SyncClaim] = {}

    async def migrate(self) -> list[int]:
        return []

    async def ping(self) -> None:
        return None

    async def schema_state(self) -> SchemaState:
        return SchemaState(1, 1)  # dictionaries have no schema to migrate

    async def create_account(self, name: str, key_hash: str, now: datetime) -> Account:
        if name in self.accounts:
            raise AccountAlreadyExists(f"an account named `{name}` exists already")
        account = Account(name=name, enabled=True, created_at=now.astimezone(UTC))
        self.accounts[name] = account
        self.key_hashes[key_hash] = (name, None)
        return account

    async def get_account(self, name: str) -> Account | None:
        return self.accounts.get(name)

    async def find_key_owner(self, key_hash: str) -> ApiKeyOwner | None:
        key = self.key_hashes.get(key_hash)
        return None if key is None else ApiKeyOwner(self.accounts[key[0]], key[1])

    async def list_accounts(self) -> list[AccountSummary]:
        return [
            AccountSummary(
                name=account.name,
                enabled=account.enabled,
                created_at=account.created_at,
                waba_count=sum(owned.account_name == account.name for owned in self.wabas.values()),
                binding_count=sum(binding.account_name == account.name for binding in self.bindings.values()),
            )
            for account in sorted(self.accounts.values(), key=lambda account: account.name)
        ]

    async def set_account_enabled(self, name: str, enabled: bool) -> Account:
        account = self._account(name)
        self.accounts[name] = account = msgspec.structs.replace(account, enabled=enabled)
        return account

    async def rotate_api_keys(
        self, name: str, key_hash: str, now: datetime, old_keys_until: datetime
    ) -> datetime | None:
        self._account(name)
        keys = [(hash_, until) for hash_, (owner, until) in self.key_hashes.items() if owner == name]
        old = retire_old_keys(keys, old_keys_until, now)
        for hash_ in old.deleted:
            del self.key_hashes[hash_]
        for hash_, until in old.valid_until:
            self.key_hashes[hash_] = (name, until)
        self.key_hashes[key_hash] = (name, None)
        return old.last_valid()

    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot, *, source: ChangeSource = "bind") -> Binding:
        if snapshot.waba.id != binding.waba_id:
            raise ValueError(f"the snapshot of WABA `{snapshot.waba.id}` cannot go with WABA `{binding.waba_id}`")
        self._account(binding.account_name)
        existing = check_binding_conflicts(
            binding.account_name,
            binding.waba_id,
            binding.phone_number_id,
            phone_binding=self.bindings.get(binding.phone_number_id),
            waba_owner=self._owner(binding.waba_id),
        )
        created = existing is None
        if existing is None:
            existing = msgspec.structs.replace(binding, bound_at=binding.bound_at.astimezone(UTC))
            self.wabas.setdefault(binding.waba_id, _OwnedWaba(binding.account_name, existing.bound_at))
            self.bindings[binding.phone_number_id] = existing
        self._replace_snapshot(snapshot, source)
        if created:
            self._write_events([binding_event(existing, created=True, source=source, at=self._now())])
        return existing

    async def remove_binding(
        self, account_name: str, waba_id: str, phone_number_id: str, *, source: ChangeSource = "request"
    ) -> Binding:
        binding = self.bindings.get(phone_number_id)
        if binding is None or (binding.account_name, binding.waba_id) != (account_name, waba_id):
            raise BindingNotFound(
                f"account `{account_name}` has no binding of phone number `{phone_number_id}` in WABA `{waba_id}`"
            )
        del self.bindings[phone_number_id]
        if not any(other.waba_id == waba_id for other in self.bindings.values()):
            del self.wabas[waba_id]
            self.snapshots.pop(waba_id, None)
        self._write_events([binding_event(binding, created=False, source=source, at=self._now())])
        return binding

    async def find_binding(self, phone_number_id: str) -> Binding | None:
        return self.bindings.get(phone_number_id)

    async def waba_owner(self, waba_id: str) -> str | None:
        return self._owner(waba_id)

    async def list_bindings(self, account_name: str | None = None) -> list[Binding]:
        return sorted(
            (binding for binding in self.bindings.values() if account_name in (None, binding.account_name)),
            key=lambda binding: (binding.account_name, binding.bound_at, binding.phone_number_id),
        )

    async def account_waba_ids(self, account_name: str) -> list[str]:
        return [waba_id for waba_id, owned in self._wabas_by_binding_time() if owned.account_name == account_name]

    async def all_bound_waba_ids(self) -> list[str]:
        return [waba_id for waba_id, _ in self._wabas_by_binding_time()]

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        return self.snapshots.get(waba_id)

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        return [
            (waba_id, self.snapshots.get(waba_id))
            for waba_id, owned in self._wabas_by_binding_time()
            if owned.account_name == account_name
        ]

    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        return self._replace_snapshot(snapshot, source)

    async def set_waba_review_status(
        self, waba_id: str, review_status: str, at: datetime, source: ChangeSource
    ) -> list[Change]:
        stored = self.snapshots.get(waba_id)
        update = None if stored is None else with_review_status(stored, review_status, at.astimezone(UTC), source)
        if stored is None or update is None:
            return []
        updated, changes = update
        self.snapshots[waba_id] = updated
        self.history.extend(changes)
        self._write_events(snapshot_events(self.wabas[waba_id].account_name, stored, updated, changes))
        return changes

    @asynccontextmanager
    async def lock_refresh(self, waba_id: str) -> AsyncIterator[WabaSnapshot | None]:
        async with self.refresh_locks.setdefault(waba_id, asyncio.Lock()):
            yield self.snapshots.get(waba_id)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        claim = self.sync_claims.get(waba_id)
        if claim is not None and claim.holder != holder and claim.until >= now:
            return False
        self.sync_claims[waba_id] = _SyncClaim(holder, until)
        return True

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        return sorted(
            (
                change
                for change in self.history
                if waba_id in (None, change.waba_id) and phone_number_id in (None, change.phone_number_id)
            ),
            key=lambda change: change.at,  # a stable sort: recording order for equal times
        )

    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        if event.fingerprint in self.webhook_events:
            return False
        received_at = event.received_at.astimezone(UTC)
        self.webhook_events[event.fingerprint] = msgspec.structs.replace(event, received_at=received_at)
        owner = None if event.waba_id is None else self._owner(event.waba_id)
        draft = None if owner is None else account_update_event(owner, event)
        if draft is not None:
            self._write_events([draft])
        return True

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        return sorted(
            (event for event in self.webhook_events.values() if waba_id in (None, event.waba_id)),
            key=lambda event: event.received_at,
        )

    async def prune_webhook_events(self, before: datetime) -> int:
        kept = {fingerprint: e for fingerprint, e in self.webhook_events.items() if e.received_at >= before}
        pruned = len(self.webhook_events) - len(kept)
        self.webhook_events = kept
        return pruned

    async def read_events(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        kept = [event for event in self.events if event.account_name == account_name and event.created_at >= since]
        start = 0
        if after is not None:
            ids = [event.id for event in kept]
            if after not in ids:
                return None
            start = ids.index(after) + 1
        return kept[start : start + limit]

    async def prune_events(self, before: datetime) -> int:
        kept = [event for event in self.events if event.created_at >= before]
        pruned = len(self.events) - len(kept)
        self.events = kept
        return pruned

    def _replace_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        """Store a bound WABA's snapshot and record its changes against the stored one, as SQLite does."""
        owned = self.wabas.get(snapshot.waba.id)
        if owned is None:
            return []
        snapshot = _in_utc(snapshot)
        stored = self.snapshots.get(snapshot.waba.id)
        replacement = changes_on_replace(stored, snapshot, source)
        if replacement is None:
            return []
        snapshot, changes = replacement
        self.snapshots[snapshot.waba.id] = snapshot
        self.history.extend(changes)
        if stored is not None:
            self._write_events(snapshot_events(owned.account_name, stored, snapshot, changes))
        return changes

    def _write_events(self, drafts: list[EventDraft]) -> None:
        """Number the drafts of one WABA after its last event and keep them; then wake whoever waits for events."""
        if not drafts:
            return
        waba_id = drafts[0].data.waba_id
        last = self.event_sequences[waba_id] = self.event_sequences.get(waba_id, 0) + len(drafts)
        self.events.extend(issue(drafts, first_sequence=last - len(drafts) + 1, now=self._now()))
        self.events_written.notify()

    def _now(self) -> datetime:
        return datetime.now(UTC) if self._clock is None else self._clock.now()

    def _account(self, name: str) -> Account:
        account = self.accounts.get(name)
        if account is None:
            raise AccountNotFound(f"no account named `{name}`")
        return account

    def _owner(self, waba_id: str) -> str | None:
        owned = self.wabas.get(waba_id)
        return None if owned is None else owned.account_name

    def _wabas_by_binding_time(self) -> list[tuple[str, _OwnedWaba]]:
        return sorted(self.wabas.items(), key=lambda item: (item[1].bound_at, item[0]))


def _in_utc(snapshot: WabaSnapshot) -> WabaSnapshot:
    return msgspec.structs.replace(snapshot, fetched_at=snapshot.fetched_at.astimezone(UTC))


class StorageWithOutage(InMemoryStorage):
    """In-memory storage that can be unavailable, as the adapters report it: `StorageUnavailable`.

    `fail_next(n, writes_only=...)` makes the next `n` calls that it concerns fail: writes only (a full
    disk: reads go on answering), or every call (the connection is lost). `failed` counts the failures.
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock=clock)
        self._failing = 0
        self._writes_only = False
        self.failed = 0

    def fail_next(self, calls: int, *, writes_only: bool = False) -> None:
        self._failing, self._writes_only = calls, writes_only

    def _call(self, *, writes: bool) -> None:
        if self._failing and (writes or not self._writes_only):
            self._failing -= 1
            self.failed += 1
            reason = "disk full" if self._writes_only else "connection lost"
            raise StorageUnavailable(f"storage is unavailable ({reason}); retry in 5 s", retry_after_seconds=5)

    async def waba_owner(self, waba_id: str) -> str | None:
        self._call(writes=False)
        return await super().waba_owner(waba_id)

    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None:
        self._call(writes=False)
        return await super().get_snapshot(waba_id)

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        self._call(writes=False)
        return await super().account_snapshots(account_name)

    async def all_bound_waba_ids(self) -> list[str]:
        self._call(writes=False)
        return await super().all_bound_waba_ids()

    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        self._call(writes=True)
        return await super().save_snapshot(snapshot, source)

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        self._call(writes=True)
        return await super().claim_for_sync(waba_id, holder, until, now)

    @asynccontextmanager
    async def lock_refresh(self, waba_id: str) -> AsyncIterator[WabaSnapshot | None]:
        self._call(writes=True)  # SQLite's refresh lease is a row written
        async with super().lock_refresh(waba_id) as snapshot:
            yield snapshot
