"""The ports the domain needs: storage, the Meta provider, callbacks, a clock. Adapters satisfy them structurally."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Literal, NamedTuple, Protocol

from intwa.domain.callbacks.models import Callback, CallbackSetting, DeliveryOutcome, DeliveryStats
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.models import (
    Account,
    AccountSummary,
    ApiKeyOwner,
    Binding,
    Change,
    ChangeSource,
    CustomerEvent,
    PhoneNumber,
    Waba,
    WabaSnapshot,
    WabaUsage,
    WebhookEvent,
)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def timestamp(self) -> float:
        """The current time as POSIX seconds: `now()` for the hot path's comparisons, without a datetime."""
        ...


class EventsWritten(Protocol):
    """An in-process wake-up for whatever delivers customer events (SPEC §3.10).

    The storage notifies it after a transaction that wrote events has committed, never before and never
    for one that rolled back, so a dispatcher in the same process can start at once instead of at its next
    poll. Other processes and instances are not woken: they poll.
    """

    def notify(self) -> None:
        """Say that events were written and committed; a waiter wakes, or the next wait returns at once."""
        ...

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 - a bounded wait is what polls fall back on
        """Wait at most `timeout` seconds for a notification; True when there was one since the last that woke."""
        ...


class MetaProvider(Protocol):
    """Where WABA and phone number data come from: Meta's Graph API, or a fake.

    Failures are raised as domain errors: `WabaNotAccessible`, `ProviderCredentialsRejected`,
    `ProviderError`, `ProviderRateLimited`, `ProviderUnavailable`.
    """

    async def fetch_waba(self, waba_id: str) -> Waba:
        """The WABA's id, name, review status, business verification and Meta's health verdict."""
        ...

    async def fetch_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        """Every phone number of the WABA, in the provider's order, each with Meta's health verdict.

        One listing (and its pages) for all of them: never a call per number.
        """
        ...

    async def subscribe_app(self, waba_id: str) -> None:
        """Subscribe the platform's app to the WABA's webhooks."""
        ...

    def usage(self, waba_id: str) -> WabaUsage | None:
        """How much of Meta's rate limit the WABA has used, as last reported; None if never reported."""
        ...


SchemaStanding = Literal["missing", "behind", "current", "ahead"]


class SchemaState(NamedTuple):
    """Where a store's schema stands against the newest migration this code knows."""

    version: int | None
    """The newest migration the store records; None when it has no schema at all."""
    latest: int
    """The newest migration this code knows."""

    @property
    def standing(self) -> SchemaStanding:
        """`missing` (no schema), `behind` (migrations to apply), `current`, or `ahead` (a newer intwa's)."""
        if self.version is None:
            return "missing"
        if self.version < self.latest:
            return "behind"
        return "current" if self.version == self.latest else "ahead"

    def problem(self, store: str) -> str | None:
        """What is wrong with the schema of `store` (e.g. "the SQLite database var/intwa.db") and how to fix it."""
        standing = self.standing
        if standing == "missing":
            return f"{store} has no intwa schema: create it with `intwa db migrate`"
        if standing == "behind":
            return (
                f"{store} is not migrated (schema version {self.version}, this intwa needs {self.latest}):"
                " run `intwa db migrate`"
            )
        if standing == "ahead":
            return (
                f"{store} has schema version {self.version}, newer than version {self.latest} that this intwa"
                " knows: run a newer intwa"
            )
        return None


class Storage(Protocol):
    """Accounts, API key hashes, bindings and snapshots, kept durably and shared by all processes.

    Writes are atomic. Conflicts are decided by the store itself, so racing writers cannot both win.
    """

    async def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied now (empty when up to date)."""
        ...

    async def ping(self) -> None:
        """Raise if the store does not answer."""
        ...

    async def schema_state(self) -> SchemaState:
        """Where the store's schema stands; reads only, so it never creates or changes a schema."""
        ...

    # accounts and keys
    async def create_account(self, name: str, key_hash: str, now: datetime) -> Account:
        """Store a new enabled account with one key; `AccountAlreadyExists` if the name is taken."""
        ...

    async def get_account(self, name: str) -> Account | None: ...

    async def find_key_owner(self, key_hash: str) -> ApiKeyOwner | None:
        """The account of the key with this hash and until when the key works, expired or not; None if unknown."""
        ...

    async def list_accounts(self) -> list[AccountSummary]:
        """All accounts by name, with their WABA and binding counts."""
        ...

    async def set_account_enabled(self, name: str, enabled: bool) -> Account:
        """Enable or disable an account; `AccountNotFound` if there is none."""
        ...

    async def rotate_api_keys(
        self, name: str, key_hash: str, now: datetime, old_keys_until: datetime
    ) -> datetime | None:
        """Give the account the new key `key_hash`, and its older keys an end, in one transaction.

        What becomes of each older key is `accounts.retire_old_keys`'s decision: it works until
        `old_keys_until`, or until its own earlier end, and is deleted when that is not after `now`.
        Returns the last moment an older key still works, None when none does. `AccountNotFound` if
        there is no such account.
        """
        ...

    # bindings
    async def add_binding(self, binding: Binding, snapshot: WabaSnapshot, *, source: ChangeSource = "bind") -> Binding:
        """Store a binding and the WABA's snapshot in one transaction.

        Returns the stored binding: the existing one when the same (account, WABA, phone number) is
        bound already. Raises `PhoneNumberBoundToAnotherAccount` when the phone number is bound to
        another account (checked first, so racing binds of one number get it), else
        `WabaBoundToAnotherAccount` when the WABA is. Changes against a snapshot already stored are
        recorded in the history with `source`, as `save_snapshot` does, and a new binding writes a
        `binding.created` event after their events, all in the same transaction.
        """
        ...

    async def remove_binding(
        self, account_name: str, waba_id: str, phone_number_id: str, *, source: ChangeSource = "request"
    ) -> Binding:
        """Remove a binding and write its `binding.removed` event; the WABA is released with its last binding.

        `BindingNotFound` if there is none.
        """
        ...

    async def find_binding(self, phone_number_id: str) -> Binding | None:
        """The binding of a phone number, whichever account holds it."""
        ...

    async def waba_owner(self, waba_id: str) -> str | None:
        """The name of the account the WABA is bound to, if any."""
        ...

    async def list_bindings(self, account_name: str | None = None) -> list[Binding]:
        """Bindings of one account, or of all, by account, binding time and phone number id."""
        ...

    async def account_waba_ids(self, account_name: str) -> list[str]:
        """The WABAs bound to an account, ordered by first binding time."""
        ...

    async def all_bound_waba_ids(self) -> list[str]:
        """Every bound WABA, ordered by first binding time."""
        ...

    # snapshots and their history
    async def get_snapshot(self, waba_id: str) -> WabaSnapshot | None: ...

    async def account_snapshots(self, account_name: str) -> list[tuple[str, WabaSnapshot | None]]:
        """Every WABA bound to the account with its stored snapshot (None if it has none), in one read.

        Ordered by first binding time, as `account_waba_ids`: an account's WABAs are listed together, so
        their snapshots are read together rather than one after another.
        """
        ...

    async def save_snapshot(self, snapshot: WabaSnapshot, source: ChangeSource) -> list[Change]:
        """Replace the WABA's snapshot, record what changed and write its customer events, in one transaction.

        The changes are computed against the snapshot stored at that moment (`history.changes_between`),
        so racing writers never record one change twice. A snapshot older than the stored one (a slow
        refresh finishing after a newer one) is not stored, and a WABA that is no longer bound keeps no
        snapshot: nothing is stored and `[]` is returned in both cases.
        """
        ...

    async def set_waba_review_status(
        self, waba_id: str, review_status: str, at: datetime, source: ChangeSource
    ) -> list[Change]:
        """Set the review status in the WABA's snapshot, record the change and write its `waba.updated` event.

        `[]` and nothing written if it is unchanged or the WABA is unbound.
        """
        ...

    def lock_refresh(self, waba_id: str) -> AbstractAsyncContextManager[WabaSnapshot | None]:
        """Hold the WABA's refresh lock, shared by every process and instance using this store.

        Yields the snapshot stored at the moment the lock is acquired, read from the store itself (never
        from a cache), so a refresher that waited can see that another one has just refreshed the WABA
        and skip its own provider call. Released when the block ends, also on error or cancellation.
        """
        ...

    async def claim_for_sync(self, waba_id: str, holder: str, until: datetime, now: datetime) -> bool:
        """Claim the WABA for the background sync of `holder` until `until`.

        True when it was not claimed, its claim has expired (`now` past it), or `holder` holds it:
        instances sharing the store then share the sync's work instead of each refreshing every WABA.
        """
        ...

    async def list_history(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        """Recorded changes, oldest first (in recording order for equal times), optionally filtered."""
        ...

    # webhooks
    async def record_webhook_event(self, event: WebhookEvent) -> bool:
        """Keep a webhook event; False when one with the same fingerprint is recorded already.

        An `account_update` kept for a WABA bound at that moment also writes its `waba.account_update`
        customer event for the WABA's account, in the same transaction; a redelivery writes nothing.
        """
        ...

    async def list_webhook_events(self, waba_id: str | None = None) -> list[WebhookEvent]:
        """Recorded webhook events, oldest first, optionally those of one WABA."""
        ...

    async def prune_webhook_events(self, before: datetime) -> int:
        """Delete the webhook events received before `before`; returns how many.

        Events are kept `events.retention_days` (SPEC §3.9); the oldest go first, so pruning that stops
        half-way leaves no gap in what is kept.
        """
        ...

    # customer events (SPEC §3.10); each is written in the transaction of what caused it
    async def read_events(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        """At most `limit` of the account's events written at or after `since`, in the order they were written.

        Those after the event `after`, or from the oldest without it. None when `after` is not an event of this
        account written at or after `since` (unknown, another account's, or older): the two are not told apart.
        The order is the one in which the events committed, so a reader that goes on from the last event it
        read never misses one that commits later.
        """
        ...

    async def prune_events(self, before: datetime) -> int:
        """Delete the customer events written before `before`, oldest first; returns how many."""
        ...


class CallbackStore(Protocol):
    """Each account's callback, and the deliveries of its events, in the store the other data is in.

    The deliveries are the outbox's work list (SPEC §3.10): one row per event to deliver, which the dispatcher
    claims, attempts and settles; here they are only counted.
    """

    async def set_callback(self, account_name: str, setting: CallbackSetting) -> Callback:
        """Store `setting.applied_to(account_name, stored)` in place of the stored callback, in one transaction.

        Racing settings of one account take their turns, each applied to what the one before it stored, so two
        first settings never both hand out a secret. `AccountNotFound` if there is no such account.
        """
        ...

    async def get_callback(self, account_name: str) -> Callback | None: ...

    async def delete_callback(self, account_name: str) -> Callback | None:
        """Delete the account's callback; its pending deliveries end `failed` (they have nowhere to go).

        Returns the deleted callback, None if the account had none.
        """
        ...

    async def delivery_stats(self, account_name: str) -> DeliveryStats:
        """How the account's deliveries stand: pending, failed attempts in a row, the latest attempt."""
        ...


class CallbackSender(Protocol):
    """Sends a signed event to a callback URL, over the network, only where the URL rules allow."""

    async def check_target(self, url: str) -> None:
        """Raise `CallbackUrlNotAllowed` unless the URL passes the rules and its host resolves to allowed addresses."""
        ...

    async def send(
        self, url: str, event_id: str, body: bytes, signing_secrets: Sequence[WebhookSecret]
    ) -> DeliveryOutcome:
        """POST the event's bytes, signed for this attempt, and say how it went; never raises for the network.

        The host is resolved and checked again now, and the connection goes to an address that was checked.
        """
        ...


class RateLimiter(Protocol):
    """Counts each account's requests per minute, across every process and instance using one store."""

    async def hit(self, account_name: str, limit_per_minute: int, now: datetime) -> float | None:
        """Count one request; None while the account is within the limit, else seconds until it may retry."""
        ...
