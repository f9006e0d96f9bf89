"""Applying Meta's webhooks: what each change of a verified post does to intwa's WABAs (SPEC §3.9)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import msgspec

from intwa.domain.errors import DomainError, ProviderError, ProviderUnavailable, StorageUnavailable
from intwa.domain.models import WebhookEvent
from intwa.domain.ports import Clock, Storage
from intwa.domain.shared_tasks import SharedTasks
from intwa.domain.snapshots import FAILED_REFRESH_PAUSE, Snapshots
from intwa.domain.validation import display_number_digits
from intwa.domain.webhooks.payload import (
    AccountNotice,
    PhoneNumberNotice,
    ReviewDecision,
    WebhookChange,
    WebhookEntry,
    decode_notification,
    fingerprint,
)

logger = logging.getLogger("intwa.webhooks")

WABA_OBJECT = "whatsapp_business_account"
REFRESHING_EVENTS = frozenset(
    {
        "DISABLED_UPDATE",
        "ACCOUNT_RESTRICTION",
        "ACCOUNT_VIOLATION",
        "ACCOUNT_DELETED",
        "ACCOUNT_OFFBOARDED",
        "ACCOUNT_RECONNECTED",
        "PARTNER_REMOVED",
        "PARTNER_APP_UNINSTALLED",
        "PARTNER_ADDED",
        "PARTNER_APP_INSTALLED",
    }
)
"""`account_update` events after which the WABA is refreshed from Meta: its status or access may have changed."""
GIVE_UP_AFTER = timedelta(days=1)
"""How long a webhook's refresh is retried while Meta cannot answer; the background sync goes on after that."""
PRUNE_EVERY = timedelta(hours=1)
"""How often the webhook events and customer events older than the retention are deleted."""
OTHER_FIELD = "other"
"""The field under which `ApplyWebhook.events` counts the changes of fields intwa does not handle."""


class WebhookReceipt(msgspec.Struct, frozen=True):
    """How many changes of a post were applied (a replay counts: applying it again is harmless) or ignored."""

    applied: int = 0
    ignored: int = 0


_Handler = Callable[[WebhookEntry, WebhookChange], Awaitable[bool]]


class ApplyWebhook:
    """Apply every change of a verified webhook post; applying one twice has the effect of applying it once.

    A review decision is written to the WABA's snapshot unless the snapshot is newer than the event. Quality
    and name updates, capability updates and the account events of `REFRESHING_EVENTS` refresh the WABA
    from the provider in the background, without delaying the answer to Meta: one refresh per WABA per
    burst of events, deferred (never dropped) while the WABA's refreshes wait for Meta's rate limit or
    after a failure. Account and capability events are kept for `retention_days`, and so are customer events
    (both pruned here, at most once an hour, when such an event arrives). Events for WABAs that
    are not bound change nothing and are not kept. `events` counts the changes received by field (`other`
    for the fields intwa does not handle); `fields` names every such field.
    """

    def __init__(
        self,
        storage: Storage,
        snapshots: Snapshots,
        clock: Clock,
        *,
        retention_days: float = 7,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._storage = storage
        self._snapshots = snapshots
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._sleep = sleep
        self._refreshes: SharedTasks[None] = SharedTasks("intwa webhook refresh of WABA")
        # Per WABA with a refresh pending: the latest event asking for it, numbered, and when it was received.
        self._requested: dict[str, tuple[int, datetime]] = {}
        self._requests = itertools.count()
        self._pruned_at: datetime | None = None
        self.events: Counter[str] = Counter()
        self._handlers: dict[str, _Handler] = {
            "account_review_update": self._review_update,
            "phone_number_quality_update": self._phone_number_update,
            "phone_number_name_update": self._phone_number_update,
            "account_update": self._account_update,
            "business_capability_update": self._capability_update,
        }

    async def __call__(self, body: bytes) -> WebhookReceipt:
        """Decode a webhook body (`MalformedWebhook` if it is not a JSON object) and apply its changes."""
        notification = decode_notification(body)
        changes = [(entry, change) for entry in notification.entry for change in entry.changes]
        self.events.update(change.field if change.field in self._handlers else OTHER_FIELD for _, change in changes)
        if notification.object != WABA_OBJECT:
            logger.info("ignored a webhook for object %r", notification.object)
            return WebhookReceipt(ignored=len(changes))
        applied = 0
        for entry, change in changes:
            handler = self._handlers.get(change.field)
            if handler is None or not entry.id:
                logger.debug("ignored webhook field %r of entry %r", change.field, entry.id)
            elif await handler(entry, change):
                applied += 1
        return WebhookReceipt(applied=applied, ignored=len(changes) - applied)

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields `events` counts by: every field handled, in the handler table's order, then `other`."""
        return (*self._handlers, OTHER_FIELD)

    @property
    def pending(self) -> int:
        """How many WABAs have a refresh scheduled, deferred or under way."""
        return len(self._refreshes)

    async def drain(self) -> None:
        """Wait until every refresh scheduled so far, and any it schedules again, has finished."""
        await self._refreshes.wait_all()

    async def close(self) -> None:
        """Cancel pending refreshes: at shutdown the provider's client is about to close."""
        await self._refreshes.cancel_all()
        self._requested.clear()

    async def _review_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(ReviewDecision)
        if value is None or not value.decision:
            return _odd(entry, change)
        # At the event's time: a snapshot fetched later, or a later decision, is not rolled back.
        at = _event_time(entry, self._clock.now())
        changes = await self._storage.set_waba_review_status(entry.id, value.decision, at=at, source="webhook")
        logger.info("WABA %s review decision %s of %s (%d changes)", entry.id, value.decision, at, len(changes))
        return True

    async def _phone_number_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(PhoneNumberNotice)
        digits = display_number_digits(value.display_phone_number or "") if value is not None else ""
        if not digits:
            return _odd(entry, change)
        # Refreshed also when the number is not in the snapshot yet: it may have been added since (SPEC §3.9).
        if not await self._bound(entry.id, change):
            return False
        self._schedule_refresh(entry.id)
        return True

    async def _account_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(AccountNotice)
        if value is None:
            return _odd(entry, change)
        # Partner events come on the partner's business; the customer's WABA is in the value.
        waba_id = (value.waba_info.waba_id if value.waba_info is not None else None) or entry.id
        if not await self._bound(waba_id, change):
            return False
        await self._record(entry, change, waba_id, value.event)
        if value.event in REFRESHING_EVENTS:
            self._schedule_refresh(waba_id)
        return True

    async def _capability_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        # The messaging limit is the business portfolio's: the numbers' `messageLimit` may have changed.
        if not await self._bound(entry.id, change):
            return False
        await self._record(entry, change, entry.id, None)
        self._schedule_refresh(entry.id)
        return True

    async def _bound(self, waba_id: str, change: WebhookChange) -> bool:
        if await self._storage.waba_owner(waba_id) is not None:
            return True
        logger.info("ignored %s of WABA %s: it is not bound", change.field, waba_id)
        return False

    async def _record(self, entry: WebhookEntry, change: WebhookChange, waba_id: str, event: str | None) -> None:
        now = self._clock.now()
        recorded = await self._storage.record_webhook_event(
            WebhookEvent(
                received_at=now,
                object_id=entry.id,
                waba_id=waba_id,
                field=change.field,
                event=event,
                payload=msgspec.json.encode(change.value).decode(),
                fingerprint=fingerprint(entry, change),
            )
        )
        outcome = "recorded" if recorded else "recorded already (a redelivery)"
        logger.info("webhook %s %s of %s: %s", change.field, event or "-", entry.id, outcome)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            # Kept as long as the Meta webhook events: both are `events.retention_days`'s (SPEC §5).
            pruned = await self._storage.prune_webhook_events(now - self._retention)
            if pruned:
                logger.info("deleted %d webhook events older than %s", pruned, self._retention)
            pruned = await self._storage.prune_events(now - self._retention)
            if pruned:
                logger.info("deleted %d customer events older than %s", pruned, self._retention)

    def _schedule_refresh(self, waba_id: str) -> None:
        # A refresh pending or under way sees the newer request when it ends, and refreshes again if it read Meta
        # before it: one refresh per burst of events, and none missed.
        self._requested[waba_id] = (next(self._requests), self._clock.now())
        self._refreshes.start(waba_id, partial(self._refresh, waba_id))

    async def _refresh(self, waba_id: str) -> None:
        try:
            while True:
                requested = self._requested[waba_id]
                await self._refresh_after(waba_id, requested[1])
                if self._requested[waba_id] == requested:
                    return
        finally:
            # From here a new event starts a refresh of its own.
            self._refreshes.forget(waba_id)
            self._requested.pop(waba_id, None)

    async def _refresh_after(self, waba_id: str, requested: datetime) -> None:
        """Refresh the WABA with Meta's data read after `requested`, waiting while its refreshes pause."""
        while True:
            now = self._clock.now()
            paused_until = self._snapshots.paused_until(waba_id, now)
            if paused_until is not None:
                logger.info("webhook refresh of WABA %s deferred until %s", waba_id, paused_until.isoformat())
                await self._sleep((paused_until - now).total_seconds())
                continue
            try:
                refreshed = await self._snapshots.refresh(waba_id, source="webhook", fresh_after=requested)
            except (ProviderUnavailable, ProviderError) as error:
                if self._clock.now() - requested >= GIVE_UP_AFTER:
                    logger.warning("webhook refresh of WABA %s given up: %s %s", waba_id, error.code, error.message)
                    return
                # The failure paused the WABA's refreshes: this one waits for the pause to end.
                logger.warning(
                    "webhook refresh of WABA %s failed, to be retried: %s %s", waba_id, error.code, error.message
                )
                if self._snapshots.paused_until(waba_id, self._clock.now()) is None:
                    await self._sleep(FAILED_REFRESH_PAUSE.total_seconds())
                continue
            except StorageUnavailable as error:
                # Not lost: it waits for the store, quietly (the store logs its outage once), then tries again.
                now = self._clock.now()
                if now - requested >= GIVE_UP_AFTER:
                    logger.warning("webhook refresh of WABA %s given up: %s %s", waba_id, error.code, error.message)
                    return
                paused_until = self._snapshots.paused_until(waba_id, now)
                await self._sleep(
                    error.retry_after_seconds if paused_until is None else (paused_until - now).total_seconds()
                )
                continue
            except DomainError as error:
                logger.warning("webhook refresh of WABA %s failed: %s %s", waba_id, error.code, error.message)
                return
            except Exception:
                logger.exception("webhook refresh of WABA %s failed unexpectedly", waba_id)
                return
            if refreshed.snapshot.fetched_at < requested:
                continue  # joined a refresh that read Meta before the event: once more
            logger.info("refreshed WABA %s after a webhook (%d changes)", waba_id, len(refreshed.changes))
            return


def _event_time(entry: WebhookEntry, now: datetime) -> datetime:
    """When Meta says the entry's change happened (`entry.time`, POSIX seconds), never later than `now`.

    A snapshot fetched within that second is taken as older than the change: only one fetched after
    the second is known to have read Meta after it.
    """
    if entry.time is None:
        return now
    try:
        # Meta gives whole seconds: the change happened at the latest at the end of that second.
        at = datetime.fromtimestamp(entry.time + 1, UTC) - timedelta(microseconds=1)
    except (OverflowError, OSError, ValueError):
        return now
    return min(at, now)


def _odd(entry: WebhookEntry, change: WebhookChange) -> bool:
    logger.info("ignored %s of %s: its value has an unexpected shape", change.field, entry.id)
    return False
