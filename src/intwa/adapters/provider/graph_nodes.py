"""Graph's WABA and phone number nodes as Meta sends them, and what they mean in intwa's words.

Shared by the Graph adapter (decoding Meta's answers) and the fakes (whose data uses Graph's field names),
so both translate a node the same way.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from intwa.adapters.provider.graph_health import GraphHealthStatus, health_of
from intwa.domain.models import UNKNOWN, PhoneNumber, Waba

WABA_FIELDS = ("id", "name", "account_review_status", "business_verification_status", "health_status")
"""The WABA fields intwa requests (SPEC §6): Meta's health verdict comes with them, not from a call of its own."""

PHONE_NUMBER_FIELDS = (
    "id",
    "display_phone_number",
    "verified_name",
    "status",
    "quality_rating",
    "whatsapp_business_manager_messaging_limit",
    "health_status",
    "name_status",
    "code_verification_status",
    "platform_type",
    "throughput",
)
"""The phone number fields intwa requests (SPEC §6), health included, so a refresh makes no call per number.
`messaging_limit_tier` is read when present, never requested: it is deprecated, and asking for a field a node
lacks is Graph error 100."""


class GraphWaba(msgspec.Struct, frozen=True):
    """A WhatsApp Business Account node; a field Meta did not send is `UNSET`."""

    id: str
    name: str | UnsetType = UNSET
    account_review_status: str | UnsetType = UNSET
    business_verification_status: str | UnsetType | None = UNSET
    health_status: GraphHealthStatus | UnsetType | None = UNSET

    def to_domain(self) -> Waba:
        can_send_message, health_issues = health_of(self.health_status)
        return Waba(
            id=self.id,
            name=_or(self.name, ""),
            review_status=_or(self.account_review_status, UNKNOWN),
            can_send_message=can_send_message,
            health_issues=health_issues,
            business_verification_status=_or(self.business_verification_status, UNKNOWN),
        )


class GraphThroughput(msgspec.Struct, frozen=True):
    """A phone number's `throughput`: `level` is `STANDARD`, `HIGH`, `NOT_APPLICABLE`, …"""

    level: str | UnsetType | None = UNSET


class GraphPhoneNumber(msgspec.Struct, frozen=True):
    """A WhatsApp business phone number node; a field Meta did not send is `UNSET`."""

    id: str
    display_phone_number: str | UnsetType = UNSET
    verified_name: str | UnsetType = UNSET
    status: str | UnsetType = UNSET
    quality_rating: str | UnsetType = UNSET
    whatsapp_business_manager_messaging_limit: str | UnsetType = UNSET
    messaging_limit_tier: str | UnsetType = UNSET
    health_status: GraphHealthStatus | UnsetType | None = UNSET
    name_status: str | UnsetType | None = UNSET
    code_verification_status: str | UnsetType | None = UNSET
    platform_type: str | UnsetType | None = UNSET
    throughput: GraphThroughput | UnsetType | None = UNSET

    def to_domain(self) -> PhoneNumber:
        can_send_message, health_issues = health_of(self.health_status)
        throughput = self.throughput
        return PhoneNumber(
            id=self.id,
            display_phone_number=_or(self.display_phone_number, ""),
            verified_name=_or(self.verified_name, ""),
            status=_or(self.status, UNKNOWN),
            quality_rating=_or(self.quality_rating, UNKNOWN),
            messaging_limit=_or(
                self.whatsapp_business_manager_messaging_limit, _or(self.messaging_limit_tier, UNKNOWN)
            ),
            can_send_message=can_send_message,
            health_issues=health_issues,
            name_status=_or(self.name_status, UNKNOWN),
            code_verification_status=_or(self.code_verification_status, UNKNOWN),
            platform_type=_or(self.platform_type, UNKNOWN),
            throughput_level=_or(throughput.level, UNKNOWN) if isinstance(throughput, GraphThroughput) else UNKNOWN,
        )


def _or(value: str | UnsetType | None, default: str) -> str:
    """The value Meta sent, or `default` when it sent none (absent, or null)."""
    return value if isinstance(value, str) else default
