"""How the HTTP API and the CLI show domain objects: the seed's camelCase shapes (SPEC §3, §4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

import msgspec

from intwa.domain.models import Binding, Change, ChangeSource, ListedWaba, PhoneNumber, TrackedField


class View(msgspec.Struct, rename="camel"):
    """A domain object as clients see it; field names become camelCase keys."""


class BindingView(View):
    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str
    bound_at: Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time of the first binding")]

    @classmethod
    def of(cls, binding: Binding) -> Self:
        return cls(
            binding.account_name,
            binding.waba_id,
            binding.phone_number_id,
            binding.phone_number,
            binding.bound_at.astimezone(UTC),
        )


class PhoneNumberView(View):
    id: str
    display_phone_number: str
    verified_name: str
    status: str
    quality_rating: str
    message_limit: str

    @classmethod
    def of(cls, phone: PhoneNumber) -> Self:
        return cls(
            phone.id,
            phone.display_phone_number,
            phone.verified_name,
            phone.status,
            phone.quality_rating,
            phone.messaging_limit,
        )


class WabaView(View):
    waba_id: str
    waba_name: str
    waba_status: str
    accessible: Annotated[
        bool,
        msgspec.Meta(
            description="false when Meta says the WABA is gone or no longer shared with the platform;"
            " the other fields then keep their last known values"
        ),
    ]

    @classmethod
    def of(cls, listed: ListedWaba) -> Self:
        waba = listed.waba
        return cls(waba.id, waba.name, waba.review_status, listed.accessible)


class ChangeView(View):
    """A recorded change (SPEC §4 `history`); `phone_number_id` is None for a WABA's own fields."""

    at: Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time the change was recorded")]
    waba_id: str
    phone_number_id: str | None
    field: TrackedField
    old: str | None
    new: str | None
    source: ChangeSource

    @classmethod
    def of(cls, change: Change) -> Self:
        return cls(
            change.at.astimezone(UTC),
            change.waba_id,
            change.phone_number_id,
            change.field,
            change.old,
            change.new,
            change.source,
        )
