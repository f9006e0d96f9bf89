"""What intwa knows about an account's callback and its deliveries (SPEC §3.10)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

import msgspec

from intwa.domain.callbacks.signing import WebhookSecret

TEST_PING = "test.ping"
EVENT_TYPES: tuple[str, ...] = (
    "phone_number.updated",
    "phone_number.added",
    "phone_number.removed",
    "waba.updated",
    "waba.account_update",
    "binding.created",
    "binding.removed",
    TEST_PING,
)
"""Every customer event type, in the order of SPEC §3.10; a callback's `types` are listed in this order."""

PREVIOUS_SECRET_SIGNS_FOR = timedelta(hours=24)
"""After a rotation the old secret signs too, this long, so a receiver can switch without losing a delivery."""

RETRY_AFTER_CAP_SECONDS = 86400.0
"""The longest `Retry-After` a receiver may ask for; a longer one (or a date further off) counts as this."""

DeliveryStatus = Literal["pending", "delivered", "failed"]
DeliveryResult = Literal["delivered", "gone", "retry", "refused"]


class Callback(msgspec.Struct, frozen=True):
    """An account's callback: where its events go, which types, and the secrets that sign them.

    `types` None sends every type; `test.ping` is always sent. `previous_secret` signs too until
    `previous_secret_until`. A disabled callback (the receiver answered 410) sends nothing until it is set again.
    """

    account_name: str
    url: str
    types: tuple[str, ...] | None
    secret: WebhookSecret
    enabled: bool
    created_at: datetime
    previous_secret: WebhookSecret | None = None
    previous_secret_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> tuple[WebhookSecret, ...]:
        """The secrets that sign a delivery made at `now`: the current one, and the previous while it signs."""
        if self.previous_secret is not None and self.previous_secret_signs_until(now) is not None:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def previous_secret_signs_until(self, now: datetime) -> datetime | None:
        """Until when the previous secret signs too, if it still does at `now`."""
        until = self.previous_secret_until
        return until if until is not None and now < until else None

    def sends(self, event_type: str) -> bool:
        """Whether an event of this type goes to the callback (when it is enabled)."""
        return event_type == TEST_PING or self.types is None or event_type in self.types


class CallbackSetting(msgspec.Struct, frozen=True):
    """What one `callbackSet` asks for, with the secret a new callback or a rotation would take."""

    url: str
    types: tuple[str, ...] | None
    rotate_secret: bool
    new_secret: WebhookSecret
    at: datetime

    def applied_to(self, account_name: str, stored: Callback | None) -> Callback:
        """The callback once set: the URL and types replaced, enabled again, the secret kept unless rotated.

        A rotation keeps the replaced secret signing for `PREVIOUS_SECRET_SIGNS_FOR`; one before that is over
        drops the secret before it, so at most two secrets sign. The stores call this inside the transaction
        that writes the result, so racing settings of one account each see the one before them.
        """
        if stored is None:
            return Callback(account_name, self.url, self.types, self.new_secret, True, self.at)
        if not self.rotate_secret:
            return msgspec.structs.replace(stored, url=self.url, types=self.types, enabled=True)
        return msgspec.structs.replace(
            stored,
            url=self.url,
            types=self.types,
            enabled=True,
            secret=self.new_secret,
            previous_secret=stored.secret,
            previous_secret_until=self.at + PREVIOUS_SECRET_SIGNS_FOR,
        )


class NewCallback(msgspec.Struct, frozen=True):
    """A callback as `callbackSet` left it; `secret` is the new secret, shown this once, or None when kept."""

    callback: Callback
    secret: WebhookSecret | None


class DeliveryOutcome(msgspec.Struct, frozen=True):
    """How one attempt to deliver an event went.

    `delivered`: the receiver answered 2xx. `gone`: it answered 410, which disables the callback. `retry`:
    any other answer (a redirect too: none is followed), a timeout or a connection error; `retry_after_seconds`
    is the receiver's `Retry-After` on a 429 or 503, at most `RETRY_AFTER_CAP_SECONDS`. `refused`: the URL
    rules refused where the host now points, and nothing was sent. `status` is the receiver's HTTP status,
    None when there was no answer; `error` says what went wrong in a few words, None on delivery.
    """

    result: DeliveryResult
    status: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None

    @property
    def delivered(self) -> bool:
        return self.result == "delivered"


class LastDelivery(msgspec.Struct, frozen=True):
    """The latest attempt to deliver one of the account's events: when, the receiver's status, what went wrong."""

    at: datetime
    status: int | None
    error: str | None


class DeliveryStats(msgspec.Struct, frozen=True):
    """How an account's deliveries stand.

    `pending`: deliveries waiting for an attempt. `failing`: failed attempts in a row, since the latest
    delivery that succeeded (0 when the latest attempt succeeded). `last`: the latest attempt, if any.
    """

    pending: int = 0
    failing: int = 0
    last: LastDelivery | None = None


class CallbackReport(msgspec.Struct, frozen=True):
    """A callback and how its deliveries stand (callbackInfo)."""

    callback: Callback
    stats: DeliveryStats


class PingReport(msgspec.Struct, frozen=True):
    """What sending a `test.ping` to the callback did: its event id and the attempt's outcome."""

    event_id: str
    outcome: DeliveryOutcome
