"""Request and response bodies of the HTTP API, in the seed's camelCase (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import KwargDefinition

from intwa.domain.documents import BindingView, PhoneNumberView, WabaView
from intwa.domain.events import EVENT_ID_PATTERN, AnyEvent
from intwa.domain.feed import DEFAULT_LIMIT, MAX_LIMIT

SUCCESS = "Success"

# The field rules of SPEC §3.2 as the OpenAPI document states them. Only the domain applies them
# (`intwa.domain.validation`, with its own messages); the schema-fuzzing test keeps the two in agreement.
AccountName = Annotated[
    str,
    KwargDefinition(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$",
        description="1-64 characters of `A-Z a-z 0-9 _ . -`, starting with a letter or digit",
    ),
]
MetaId = Annotated[str, KwargDefinition(pattern=r"^[0-9]{1,32}$", description="1-32 ASCII digits, as a string")]
PhoneNumber = Annotated[
    str | None,
    KwargDefinition(
        pattern=r"^[ ()\-]*\+?[ ()\-]*(?:[0-9][ ()\-]*){6,15}$",
        description="6-15 digits, optionally with spaces, `-`, `(`, `)` and one leading `+`",
    ),
]

EventId = Annotated[
    str | None,
    KwargDefinition(
        pattern=EVENT_ID_PATTERN,
        description="The id of the last event read: the events after it are answered. Without it, from the oldest"
        " event kept",
    ),
]
# Decoded as a number and documented as an integer: JSON Schema counts 100.0 as the integer 100, and so does the
# domain, which refuses a number with a fraction (`ReadEvents`).
EventLimit = Annotated[
    float,
    KwargDefinition(
        ge=1, le=MAX_LIMIT, description=f"At most this many events, 1-{MAX_LIMIT}", schema_extra={"type": "integer"}
    ),
]


class _Body(msgspec.Struct, rename="camel"):
    pass


class AccountRequest(_Body):
    """What every account endpoint's body carries: the account it acts for."""

    account_name: AccountName


class BindRequest(AccountRequest):
    """Bind a WABA's phone number to the account."""

    waba_id: MetaId
    phone_number_id: MetaId
    phone_number: PhoneNumber = None


class UnbindRequest(AccountRequest):
    """Remove one of the account's bindings."""

    waba_id: MetaId
    phone_number_id: MetaId


class PhoneInfoRequest(AccountRequest):
    """Ask for the phone numbers of one of the account's WABAs."""

    waba_id: MetaId


class WabaInfoRequest(AccountRequest):
    """Ask for the account's WABAs."""


class EventsRequest(AccountRequest):
    """Read the account's customer events, oldest first, after the last one read."""

    after: EventId = None
    limit: EventLimit = DEFAULT_LIMIT


class BindingEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: BindingView


class PhoneInfoEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: list[PhoneNumberView]


class WabaInfoEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: list[WabaView]


class EventFeed(msgspec.Struct):
    """A page of the account's events, in the order they were written."""

    events: list[AnyEvent]
    next: Annotated[
        str | None,
        msgspec.Meta(
            description="Where to read on: the id of the last event answered, or the request's `after` when none"
            " was (null without it); send it as `after` next time",
            examples=["evt_01M8E41EPV21PAHF04GANH11AT"],
        ),
    ]


class EventsEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: EventFeed


class EventFeedAnswer(msgspec.Struct):
    """`EventFeed` as it is sent: each event the bytes stored when it was written, not decoded and encoded again."""

    events: list[msgspec.Raw]
    next: str | None


class EventsAnswer(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: EventFeedAnswer


class ErrorEnvelope(msgspec.Struct):
    """Every error answer: `data` is null and `message` names the offending field or id."""

    code: int
    message: str
    data: None = None


class HealthStatus(msgspec.Struct):
    status: str
