"""Request and response bodies of the HTTP API, in the seed's camelCase (SPEC §3)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import KwargDefinition

from intwa.domain.callbacks.models import EVENT_TYPES
from intwa.domain.callbacks.targets import MAX_URL_LENGTH
from intwa.entrypoints.callback_views import CallbackInfoView, CallbackTestView, CallbackView
from intwa.entrypoints.views import BindingView, PhoneNumberView, WabaView

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


CallbackUrl = Annotated[
    str,
    KwargDefinition(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="An https:// URL whose host resolves to public internet addresses only, without a user name,"
        " password or fragment; anything else is 42206",
    ),
]
EventType = Annotated[str, KwargDefinition(enum=EVENT_TYPES)]


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


class CallbackSetRequest(AccountRequest):
    """Set the account's callback URL and the event types sent to it; `rotateSecret` for a new secret."""

    url: CallbackUrl
    types: Annotated[
        list[EventType] | None,
        KwargDefinition(description="The event types to send; absent or null: every type. `test.ping` always"),
    ] = None
    rotate_secret: Annotated[
        bool,
        KwargDefinition(description="true: a new secret, shown once; the old one signs too for 24 hours"),
    ] = False


class CallbackInfoRequest(AccountRequest):
    """Ask for the account's callback and how its deliveries stand."""


class CallbackDeleteRequest(AccountRequest):
    """Delete the account's callback."""


class CallbackTestRequest(AccountRequest):
    """Send a `test.ping` to the account's callback now."""


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


class CallbackEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: CallbackView


class CallbackInfoEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: CallbackInfoView


class CallbackTestEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: CallbackTestView


class ErrorEnvelope(msgspec.Struct):
    """Every error answer: `data` is null and `message` names the offending field or id."""

    code: int
    message: str
    data: None = None


class HealthStatus(msgspec.Struct):
    status: str
