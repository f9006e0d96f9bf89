"""Meta's webhook payload: its schema, read leniently, and what identifies a change across deliveries.

Meta adds keys and fields without notice, so the payload is read the way Meta sends it today and any part
of another shape is left out rather than refused.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, TypeVar

import msgspec

from intwa.domain.errors import MalformedWebhook

logger = logging.getLogger("intwa.webhooks")

_S = TypeVar("_S", bound=msgspec.Struct)


class _Lenient(msgspec.Struct, frozen=True, kw_only=True):
    """Meta adds keys without notice: unknown keys are ignored, and every field has a default."""


class WebhookChange(_Lenient, frozen=True):
    field: str = ""
    value: Any = None
    """Kept as decoded: each field reads its own shape from it, and it is hashed and recorded as is."""

    def value_as(self, type_: type[_S]) -> _S | None:
        """The value read as one field's shape (`ReviewDecision`, ...), or `None` when it has another."""
        return _fit(self.value, type_)


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


_DECODER = msgspec.json.Decoder(WebhookNotification, strict=False)


def decode_notification(body: bytes) -> WebhookNotification:
    """The notification in a webhook body. Entries and changes of an odd shape are left out, not fatal.

    Raises `MalformedWebhook` when the body is not a JSON object: not JSON, not UTF-8 (anywhere, also in
    parts that are ignored), or nested too deeply to read.
    """
    try:
        # msgspec skips the strings of ignored keys unread; the body must be UTF-8 all the same (SPEC §3.9).
        body.decode()
        return _DECODER.decode(body)
    except msgspec.ValidationError:
        pass  # some part has an odd shape: keep every part that fits
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise _malformed(error) from None
    try:
        document = msgspec.json.decode(body)
    except RecursionError as error:  # the typed decode stopped at the odd part, before the deep one
        raise _malformed(error) from None
    if not isinstance(document, dict):
        raise MalformedWebhook("the webhook body must be a JSON object")
    logger.info("a webhook has parts of an unexpected shape; applying the parts that fit")
    kind = document.get("object")
    entries = (_entry(item) for item in _items(document.get("entry")))
    return WebhookNotification(
        object=kind if isinstance(kind, str) else "", entry=tuple(entry for entry in entries if entry is not None)
    )


def _malformed(error: Exception) -> MalformedWebhook:
    """The 40000 of a body msgspec could not read; it raises the last two past its own error type."""
    if isinstance(error, UnicodeDecodeError):
        return MalformedWebhook("the webhook body is not valid UTF-8")
    if isinstance(error, RecursionError):
        return MalformedWebhook("the webhook body is nested too deeply to read")
    return MalformedWebhook("the webhook body is not valid JSON")


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
