"""How the HTTP API and the CLI show an account's callback (SPEC §3.10), in the seed's camelCase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

import msgspec

from intwa.domain.callbacks.models import EVENT_TYPES, Callback, CallbackReport, LastDelivery, NewCallback, PingReport
from intwa.domain.documents import View

_URL = "https://hooks.example.com/intwa"
_TYPES = ["waba.updated", "waba.account_update", "test.ping"]
_AT = "2026-11-27T09:05:33.915734Z"
_EVENT_ID = "evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA"

Url = Annotated[str, msgspec.Meta(description="Where the account's events are POSTed", examples=[_URL])]
Types = Annotated[
    list[str] | None,
    msgspec.Meta(
        description="The event types sent, in this order: " + ", ".join(EVENT_TYPES) + "; `test.ping` always."
        " null: every type, also types added later",
        examples=[_TYPES],
    ),
]
Enabled = Annotated[
    bool,
    msgspec.Meta(description="false once the receiver answered 410 Gone: nothing is sent until the URL is set again"),
]
CreatedAt = Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time of the first setting", examples=[_AT])]
PreviousSecretUntil = Annotated[
    datetime | None,
    msgspec.Meta(
        description="After a rotation, until when the previous secret signs deliveries too (a second signature"
        " in `webhook-signature`); a past time once it no longer does, null before the first rotation",
        examples=["2026-11-28T09:05:33.915734Z"],
    ),
]


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


class CallbackView(View):
    """The callback as callbackSet left it (or callbackDelete removed it)."""

    url: Url
    types: Types
    secret: Annotated[
        str | None,
        msgspec.Meta(
            description="The new signing secret, `whsec_` + base64 of 32 random bytes: shown only by the first"
            " callbackSet and by one with `rotateSecret`; null otherwise",
            examples=["whsec_3KQ3Ie0tN8kFzN9Gm0h4cXw0O2m3TzZ0x0Y1bHc9rSg="],
        ),
    ]
    enabled: Enabled
    created_at: CreatedAt
    previous_secret_until: PreviousSecretUntil

    @classmethod
    def without_secret(cls, callback: Callback) -> Self:
        """The callback as callbackDelete answers it, or callbackSet when it keeps the secret."""
        return cls.of(NewCallback(callback, None))

    @classmethod
    def of(cls, new: NewCallback) -> Self:
        callback = new.callback
        return cls(
            callback.url,
            None if callback.types is None else list(callback.types),
            None if new.secret is None else new.secret.reveal(),
            callback.enabled,
            callback.created_at.astimezone(UTC),
            _utc(callback.previous_secret_until),
        )


class LastDeliveryView(View):
    at: Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time of the latest attempt", examples=[_AT])]
    status: Annotated[
        int | None, msgspec.Meta(description="The receiver's HTTP status; null when it did not answer", examples=[200])
    ]
    error: Annotated[
        str | None,
        msgspec.Meta(
            description="What went wrong, in a few words; null when the event was delivered",
            examples=["connection refused"],
        ),
    ]

    @classmethod
    def of(cls, last: LastDelivery) -> Self:
        return cls(last.at.astimezone(UTC), last.status, last.error)


class CallbackInfoView(View):
    """The callback without its secret, and how its deliveries stand."""

    url: Url
    types: Types
    enabled: Enabled
    created_at: CreatedAt
    previous_secret_until: PreviousSecretUntil
    pending: Annotated[int, msgspec.Meta(description="Deliveries waiting for an attempt", examples=[0])]
    failing: Annotated[
        int,
        msgspec.Meta(
            description="Failed attempts in a row since the latest successful delivery; 0 while deliveries succeed",
            examples=[0],
        ),
    ]
    last_delivery: Annotated[
        LastDeliveryView | None, msgspec.Meta(description="The latest delivery attempt; null before the first")
    ]

    @classmethod
    def of(cls, report: CallbackReport) -> Self:
        callback, stats = report.callback, report.stats
        return cls(
            callback.url,
            None if callback.types is None else list(callback.types),
            callback.enabled,
            callback.created_at.astimezone(UTC),
            _utc(callback.previous_secret_until),
            stats.pending,
            stats.failing,
            None if stats.last is None else LastDeliveryView.of(stats.last),
        )


class CallbackTestView(View):
    """What sending a `test.ping` to the callback did: the receiver's answer, or why there was none."""

    event_id: Annotated[
        str,
        msgspec.Meta(
            description="The ping's event id: its `webhook-id` header", examples=["evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA"]
        ),
    ]
    delivered: Annotated[bool, msgspec.Meta(description="true when the receiver answered 2xx")]
    status: Annotated[
        int | None, msgspec.Meta(description="The receiver's HTTP status; null when it did not answer", examples=[200])
    ]
    error: Annotated[
        str | None,
        msgspec.Meta(
            description="Why it was not delivered: the receiver's status, a timeout, a network or TLS failure, or the"
            " URL rules (the host now points to a private address); null when delivered",
            examples=["connection refused"],
        ),
    ]

    @classmethod
    def of(cls, report: PingReport) -> Self:
        outcome = report.outcome
        return cls(report.event_id, outcome.delivered, outcome.status, outcome.error)
