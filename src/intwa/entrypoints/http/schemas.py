"""Request and response bodies of the HTTP API, in the seed's camelCase (SPEC §3)."""

from __future__ import annotations

import msgspec

from intwa.entrypoints.views import BindingView, PhoneNumberView, WabaView

SUCCESS = "Success"


class _Body(msgspec.Struct, rename="camel"):
    pass


class BindRequest(_Body):
    """Bind a WABA's phone number to the account."""

    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str | None = None


class UnbindRequest(_Body):
    """Remove one of the account's bindings."""

    account_name: str
    waba_id: str
    phone_number_id: str


class PhoneInfoRequest(_Body):
    """Ask for the phone numbers of one of the account's WABAs."""

    account_name: str
    waba_id: str


class WabaInfoRequest(_Body):
    """Ask for the account's WABAs."""

    account_name: str


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


class ErrorEnvelope(msgspec.Struct):
    """Every error answer: `data` is null and `message` names the offending field or id."""

    code: int
    message: str
    data: None = None


class HealthStatus(msgspec.Struct):
    status: str
