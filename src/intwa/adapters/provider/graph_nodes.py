"""Graph's WABA and phone number nodes as Meta sends them, and what they mean in intwa's words.

Shared by the Graph adapter (decoding Meta's answers) and the fakes (whose data uses Graph's field names),
so both translate a node the same way.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from intwa.domain.models import UNKNOWN, PhoneNumber, Waba

WABA_FIELDS = ("id", "name", "account_review_status")
"""The WABA fields intwa requests (SPEC §6)."""

PHONE_NUMBER_FIELDS = (
    "id",
    "display_phone_number",
    "verified_name",
    "status",
    "quality_rating",
    "whatsapp_business_manager_messaging_limit",
)
"""The phone number fields intwa requests. `messaging_limit_tier` is read when present, never requested:
it is deprecated, and asking for a field a node lacks is Graph error 100."""


class GraphWaba(msgspec.Struct, frozen=True):
    """A WhatsApp Business Account node; a field Meta did not send is `UNSET`."""

    id: str
    name: str | UnsetType = UNSET
    account_review_status: str | UnsetType = UNSET

    def to_domain(self) -> Waba:
        return Waba(
            id=self.id,
            name=_or(self.name, ""),
            review_status=_or(self.account_review_status, UNKNOWN),
        )


class GraphPhoneNumber(msgspec.Struct, frozen=True):
    """A WhatsApp business phone number node; a field Meta did not send is `UNSET`."""

    id: str
    display_phone_number: str | UnsetType = UNSET
    verified_name: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    quality_rating: str | UnsetType = UNSET
    whatsapp_business_manager_messaging_limit: str | UnsetType = UNSET
    messaging_limit_tier: str | UnsetType = UNSET

    def to_domain(self) -> PhoneNumber:
        return PhoneNumber(
            id=self.id,
            display_phone_number=_or(self.display_phone_number, ""),
            verified_name=_or(self.verified_name, ""),
            status=_or(self.status, UNKNOWN),
            quality_rating=_or(self.quality_rating, UNKNOWN),
            messaging_limit=_or(
                self.whatsapp_business_manager_messaging_limit, _or(self.messaging_limit_tier, UNKNOWN)
            ),
        )


def _or(value: str | UnsetType, default: str) -> str:
    return default if isinstance(value, UnsetType) else value
