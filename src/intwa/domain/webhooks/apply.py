"""Applying Meta's webhooks: what each change of a verified post does to intwa's WABAs."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial

import msgspec

from intwa.domain.errors import DomainError
from intwa.domain.models import WebhookEvent
from intwa.domain.ports import Clock, Storage
from intwa.domain.shared_tasks import SharedTasks
from intwa.domain.snapshots import Snapshots
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
PARTNER_EVENTS = frozenset({"PARTNER_REMOVED", "PARTNER_APP_UNINSTALLED"})
"""`account_update` events after which the platform may no longer read the customer's WABA."""
OTHER_FIELD = "other"
"""The field under which `ApplyWebhook.events` counts the changes of fields intwa does not handle."""


class WebhookReceipt(msgspec.Struct, frozen=True):
    """How many changes of a post were applied (a replay counts: applying it again is harmless) or ignored."""

    applied: int = 0
    ignored: int = 0


_Handler = Callable[[WebhookEntry, WebhookChange], Awaitable[bool]]


class ApplyWebhook:
    """Apply every change of a verified webhook post; applying one twice has the effect of applying it once.

    A review decision is written to the WABA's snapshot. Quality and name updates name the phone only by
    its number and carry too little to update a snapshot, so the WABA is refreshed from the provider in
    the background, without delaying the answer to Meta. Partner and capability events are recorded once
    each; a WABA the partner lost is expired, so the next read asks Meta. `events` counts the changes
    received by field (`other` for the fields intwa does not handle); `fields` names every such field.
    """

    def __init__(self, storage: Storage, snapshots: Snapshots, clock: Clock) -> None:
        self._storage = storage
        self._snapshots = snapshots
        self._clock = clock
        self._refreshes: SharedTasks[None] = SharedTasks("intwa webhook refresh of WABA")
        self._again: set[str] = set()
        self.events: Counter[str] = Counter()
        self._handlers: dict[str, _Handler] = {
            "account_review_update": self._review_update,
            "phone_number_quality_update": self._phone_number_update,
            "phone_number_name_update": self._phone_number_update,
            "account_update": self._account_update,
            "business_capability_update": self._record_capability,
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
        """How many WABAs have a refresh scheduled or under way."""
        return len(self._refreshes)

    async def drain(self) -> None:
        """Wait until every refresh scheduled so far, and any it schedules again, has finished."""
        await self._refreshes.wait_all()

    async def close(self) -> None:
        """Cancel pending refreshes: at shutdown the provider's client is about to close."""
        await self._refreshes.cancel_all()
        self._again.clear()

    async def _review_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(ReviewDecision)
        if value is None or not value.decision:
            return _odd(entry, change)
        changes = await self._storage.set_waba_review_status(
            entry.id, value.decision, at=self._clock.now(), source="webhook"
        )
        logger.info("WABA %s review decision %s (%d changes)", entry.id, value.decision, len(changes))
        return True

    async def _phone_number_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(PhoneNumberNotice)
        digits = display_number_digits(value.display_phone_number or "") if value is not None else ""
        if not digits:
            return _odd(entry, change)
        # Refreshed also when the number is not in the snapshot yet: it may have been added since (SPEC §3.9).
        if await self._storage.waba_owner(entry.id) is None:
            logger.info("ignored %s of phone number %s: WABA %s is not bound", change.field, digits, entry.id)
            return False
        self._schedule_refresh(entry.id)
        return True

    async def _account_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = change.value_as(AccountNotice)
        if value is None:
            return _odd(entry, change)
        # Partner events come on the partner's business; the customer's WABA is in the value.
        waba_id = (value.waba_info.waba_id if value.waba_info is not None else None) or entry.id
        if value.event in PARTNER_EVENTS:
            # Expired before recording, so a delivery cut short is completed by Meta's redelivery.
            await self._storage.expire_snapshot(waba_id)
        await self._record(entry, change, waba_id, value.event)
        return True

    async def _record_capability(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        await self._record(entry, change, None, None)
        return True

    async def _record(self, entry: WebhookEntry, change: WebhookChange, waba_id: str | None, event: str | None) -> None:
        recorded = await self._storage.record_webhook_event(
            WebhookEvent(
                received_at=self._clock.now(),
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

    def _schedule_refresh(self, waba_id: str) -> None:
        if waba_id in self._refreshes:
            self._again.add(waba_id)  # the running refresh may have read Meta before this change
            return
        self._refreshes.start(waba_id, partial(self._refresh, waba_id))

    async def _refresh(self, waba_id: str) -> None:
        try:
            while True:
                self._again.discard(waba_id)
                await self._refresh_once(waba_id)
                if waba_id not in self._again:
                    return
        finally:
            self._refreshes.forget(waba_id)  # from here a new change starts a refresh of its own

    async def _refresh_once(self, waba_id: str) -> None:
        if self._snapshots.refreshes_paused(waba_id, self._clock.now()):
            logger.info("webhook refresh of WABA %s skipped: its refreshes wait for Meta's rate limit", waba_id)
            return
        try:
            refreshed = await self._snapshots.refresh(waba_id, source="webhook")
        except DomainError as error:
            logger.warning("webhook refresh of WABA %s failed: %s %s", waba_id, error.code, error.message)
        except Exception:
            logger.exception("webhook refresh of WABA %s failed unexpectedly", waba_id)
        else:
            logger.info("refreshed WABA %s after a webhook (%d changes)", waba_id, len(refreshed.changes))


def _odd(entry: WebhookEntry, change: WebhookChange) -> bool:
    logger.info("ignored %s of %s: its value has an unexpected shape", change.field, entry.id)
    return False
