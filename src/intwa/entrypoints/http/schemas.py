"""Request and response bodies of the HTTP API, in the seed's camelCase (SPEC §3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from intwa.domain.models import Binding, PhoneNumber, Waba

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


class BindingData(_Body):
    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str
    bound_at: Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time of the first binding")]

    @classmethod
    def of(cls, binding: Binding) -> BindingData:
        return cls(
            account_name=binding.account_name,
            waba_id=binding.waba_id,
            phone_number_id=binding.phone_number_id,
            phone_number=binding.phone_number,
            bound_at=binding.bound_at,
        )


class PhoneNumberData(_Body):
    id: str
    display_phone_number: str
    verified_name: str
    status: str
    quality_rating: str
    message_limit: str

    @classmethod
    def of(cls, phone: PhoneNumber) -> PhoneNumberData:
        return cls(
            id=phone.id,
            display_phone_number=phone.display_phone_number,
            verified_name=phone.verified_name,
            status=phone.status,
            quality_rating=phone.quality_rating,
            message_limit=phone.messaging_limit,
        )


class WabaData(_Body):
    waba_id: str
    waba_name: str
    waba_status: str

    @classmethod
    def of(cls, waba: Waba) -> WabaData:
        return cls(waba_id=waba.id, waba_name=waba.name, waba_status=waba.review_status)


class BindingEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: BindingData


class PhoneInfoEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: list[PhoneNumberData]


class WabaInfoEnvelope(msgspec.Struct, kw_only=True):
    code: int = 0
    message: str = SUCCESS
    data: list[WabaData]


class ErrorEnvelope(msgspec.Struct):
    """Every error answer: `data` is null and `message` names the offending field or id."""

    code: int
    message: str
    data: None = None


class HealthStatus(msgspec.Struct):
    status: str
