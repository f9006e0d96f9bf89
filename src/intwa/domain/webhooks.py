"""Meta's WhatsApp Business Account webhooks (SPEC §3.9): the signature, the payload, what each change does."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec

from intwa.domain.errors import (
    DomainError,
    MalformedWebhook,
    WebhookSignatureInvalid,
    WebhookSignatureMissing,
    WebhookVerificationRefused,
)
from intwa.domain.models import WebhookEvent
from intwa.domain.ports import Clock, Storage
from intwa.domain.snapshots import Snapshots
from intwa.domain.validation import display_number_digits

logger = logging.getLogger("intwa.webhooks")

SIGNATURE_HEADER = "X-Hub-Signature-256"
WABA_OBJECT = "whatsapp_business_account"
PARTNER_EVENTS = frozenset({"PARTNER_REMOVED", "PARTNER_APP_UNINSTALLED"})
"""`account_update` events after which the platform may no longer read the customer's WABA."""


def verify_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise unless `header` is `sha256=<hex>` of the HMAC-SHA256 of the raw `body` with the app secret.

    The digests are compared in constant time, so a forger learns nothing from how long a refusal takes.
    An empty app secret verifies nothing.
    """
    if header is None or not header.strip():
        raise WebhookSignatureMissing(f"missing `{SIGNATURE_HEADER}` header: webhook posts must be signed")
    scheme, _, digest = header.strip().partition("=")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = digest.strip().lower().encode("utf-8", "replace")
    if not app_secret or scheme.lower() != "sha256" or not hmac.compare_digest(expected, given):
        raise WebhookSignatureInvalid(f"`{SIGNATURE_HEADER}` is not the signature of this body with the app secret")


def verify_subscription(verify_token: str, mode: str | None, token: str | None, challenge: str | None) -> str:
    """The challenge to echo when Meta's subscription handshake presents the verify token; raise otherwise."""
    presented = (token or "").encode("utf-8", "replace")
    matches = hmac.compare_digest(verify_token.encode(), presented)
    if not verify_token or mode != "subscribe" or challenge is None or not matches:
        raise WebhookVerificationRefused(
            "the webhook handshake needs `hub.mode=subscribe`, `hub.challenge` and the configured `hub.verify_token`"
        )
    return challenge


class _Lenient(msgspec.Struct, frozen=True, kw_only=True):
    """Meta adds keys without notice: unknown keys are ignored, and every field has a default."""


class WebhookChange(_Lenient, frozen=True):
    field: str = ""
    value: Any = None
    """Kept as decoded: each field reads its own shape from it, and it is hashed and recorded as is."""


class WebhookEntry(_Lenient, frozen=True):
    id: str = ""
    time: int | None = None
    changes: tuple[WebhookChange, ...] = ()


class WebhookNotification(_Lenient, frozen=True):
    object: str = ""
    entry: tuple[WebhookEntry, ...] = ()


class ReviewDecision(_Lenient, frozen=True):
    decision: str | None = None


class PhoneNumberNotice(_Lenient, frozen=True):
    display_phone_number: str | None = None


class PartnerWaba(_Lenient, frozen=True):
    waba_id: str | None = None


class AccountNotice(_Lenient, frozen=True):
    event: str | None = None
    waba_info: PartnerWaba | None = None


class WebhookReceipt(msgspec.Struct, frozen=True):
    """How many changes of a post were applied (a replay counts: applying it again is harmless) or ignored."""

    applied: int = 0
    ignored: int = 0


_DECODER = msgspec.json.Decoder(WebhookNotification, strict=False)
_S = TypeVar("_S", bound=msgspec.Struct)


def decode_notification(body: bytes) -> WebhookNotification:
    """The notification in a webhook body. Entries and changes of an odd shape are left out, not fatal.

    Raises `MalformedWebhook` when the body is not a JSON object.
    """
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError:
        pass  # some part has an odd shape: keep every part that fits
    except msgspec.DecodeError:
        raise MalformedWebhook("the webhook body is not valid JSON") from None
    document = msgspec.json.decode(body)
    if not isinstance(document, dict):
        raise MalformedWebhook("the webhook body must be a JSON object")
    logger.info("a webhook has parts of an unexpected shape; applying the parts that fit")
    kind = document.get("object")
    entries = (_entry(item) for item in _items(document.get("entry")))
    return WebhookNotification(
        object=kind if isinstance(kind, str) else "", entry=tuple(entry for entry in entries if entry is not None)
    )


def fingerprint(entry: WebhookEntry, change: WebhookChange) -> str:
    """What identifies a change across deliveries: Meta redelivers the same entry time and value."""
    canonical = msgspec.json.encode([entry.id, entry.time, change.field, change.value], order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def _entry(item: Any) -> WebhookEntry | None:
    if not isinstance(item, dict):
        return None
    head = _fit({**item, "changes": []}, WebhookEntry)
    if head is None:
        return None
    changes = (_fit(change, WebhookChange) for change in _items(item.get("changes")))
    return msgspec.structs.replace(head, changes=tuple(change for change in changes if change is not None))


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _fit(value: Any, type_: type[_S]) -> _S | None:
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError:
        return None


_Handler = Callable[[WebhookEntry, WebhookChange], Awaitable[bool]]


class ApplyWebhook:
    """Apply every change of a verified webhook post; applying one twice has the effect of applying it once.

    A review decision is written to the WABA's snapshot. Quality and name updates name the phone only by
    its number and carry too little to update a snapshot, so the WABA is refreshed from the provider in
    the background, without delaying the answer to Meta. Partner and capability events are recorded once
    each; a WABA the partner lost is expired, so the next read asks Meta. `events` counts the changes
    received by field (`other` for the fields intwa does not handle).
    """

    def __init__(self, storage: Storage, snapshots: Snapshots, clock: Clock) -> None:
        self._storage = storage
        self._snapshots = snapshots
        self._clock = clock
        self._refreshes: dict[str, asyncio.Task[None]] = {}  # strong references: the loop keeps weak ones
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
        self.events.update(change.field if change.field in self._handlers else "other" for _, change in changes)
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
    def pending(self) -> int:
        """How many WABAs have a refresh scheduled or under way."""
        return len(self._refreshes)

    async def drain(self) -> None:
        """Wait until every refresh scheduled so far, and any it schedules again, has finished."""
        while self._refreshes:
            await asyncio.gather(*self._refreshes.values(), return_exceptions=True)

    async def close(self) -> None:
        """Cancel pending refreshes: at shutdown the provider's client is about to close."""
        tasks = list(self._refreshes.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._refreshes.clear()
        self._again.clear()

    async def _review_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = _fit(change.value, ReviewDecision)
        if value is None or not value.decision:
            return _odd(entry, change)
        changes = await self._storage.set_waba_review_status(
            entry.id, value.decision, at=self._clock.now(), source="webhook"
        )
        logger.info("WABA %s review decision %s (%d changes)", entry.id, value.decision, len(changes))
        return True

    async def _phone_number_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = _fit(change.value, PhoneNumberNotice)
        digits = display_number_digits(value.display_phone_number or "") if value is not None else ""
        if not digits:
            return _odd(entry, change)
        snapshot = await self._storage.get_snapshot(entry.id)
        phones = () if snapshot is None else snapshot.phone_numbers
        if not any(display_number_digits(phone.display_phone_number) == digits for phone in phones):
            logger.info("ignored %s: phone number %s is not known in a bound WABA %s", change.field, digits, entry.id)
            return False
        self._schedule_refresh(entry.id)
        return True

    async def _account_update(self, entry: WebhookEntry, change: WebhookChange) -> bool:
        value = _fit(change.value, AccountNotice)
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
        self._refreshes[waba_id] = asyncio.get_running_loop().create_task(
            self._refresh(waba_id), name=f"intwa webhook refresh of WABA {waba_id}"
        )

    async def _refresh(self, waba_id: str) -> None:
        try:
            while True:
                self._again.discard(waba_id)
                await self._refresh_once(waba_id)
                if waba_id not in self._again:
                    return
        finally:
            self._refreshes.pop(waba_id, None)

    async def _refresh_once(self, waba_id: str) -> None:
        if self._snapshots.paused(waba_id, self._clock.now()):
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
