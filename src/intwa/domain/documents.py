"""What customers are shown of their bindings, numbers and WABAs, in the seed's camelCase (SPEC §3.3–§3.5).

One mapping from the domain's objects to what a customer reads, whoever shows it: the HTTP answers, the
CLI's `--json`, and the customer events (SPEC §3.10: an event's `phone` is exactly the phoneInfo item, its
`waba` the wabaInfo item, its `binding` bind's `data`). They are msgspec Structs and nothing more, so the
domain builds events with them and the OpenAPI document describes them with their own examples.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

import msgspec

from intwa.domain.models import Binding, HealthIssue, ListedWaba, PhoneNumber


class View(msgspec.Struct, rename="camel"):
    """A domain object as clients see it; field names become camelCase keys."""


class BindingView(View):
    account_name: Annotated[str, msgspec.Meta(examples=["IW0001"])]
    waba_id: Annotated[str, msgspec.Meta(examples=["278990000057661"])]
    phone_number_id: Annotated[str, msgspec.Meta(examples=["267300000093634"])]
    phone_number: Annotated[str, msgspec.Meta(description="Digits only", examples=["6285212340016"])]
    bound_at: Annotated[
        datetime,
        msgspec.Meta(description="RFC 3339 UTC time of the first binding", examples=["2026-11-27T09:05:33.915734Z"]),
    ]

    @classmethod
    def of(cls, binding: Binding) -> Self:
        return cls(
            binding.account_name,
            binding.waba_id,
            binding.phone_number_id,
            binding.phone_number,
            binding.bound_at.astimezone(UTC),
        )


_BLOCKED_DESCRIPTION = "There is an error with the payment method. This will block business initiated conversations."
_BLOCKED_SOLUTION = "There was an error with your payment method. Please add a new payment method to the account."
_BLOCKED_ISSUE = {
    "entityType": "WABA",
    "entityId": "278990000057662",
    "canSendMessage": "BLOCKED",
    "errorCode": 141006,
    "description": _BLOCKED_DESCRIPTION,
    "possibleSolution": _BLOCKED_SOLUTION,
}
_VERDICT = (
    "Meta's verdict on sending messages: `AVAILABLE` (meets every requirement), `LIMITED` (can send, with"
    " limitations), `BLOCKED` (cannot send); `UNKNOWN` if Meta did not say. Other values Meta adds pass through."
)


class HealthIssueView(View):
    """Why Meta says a number or WABA cannot send, or sends with limits, and what fixes it (SPEC §3.4)."""

    entity_type: Annotated[
        str,
        msgspec.Meta(
            description="The entity Meta names: `PHONE_NUMBER`, `WABA`, `BUSINESS` (the business portfolio),"
            " `APP`; other values pass through",
            examples=["WABA"],
        ),
    ]
    entity_id: Annotated[str, msgspec.Meta(description="Meta's id of that entity", examples=["278990000057662"])]
    can_send_message: Annotated[
        str,
        msgspec.Meta(
            description="Meta's verdict on that entity: `BLOCKED` (each of its errors is an issue) or `LIMITED`"
            " (each line of Meta's additional information is an issue)",
            examples=["BLOCKED", "LIMITED"],
        ),
    ]
    error_code: Annotated[
        int | None,
        msgspec.Meta(
            description="Meta's error code of a blocked entity (e.g. 141006: payment method); null for a limitation",
            examples=[141006],
        ),
    ]
    description: Annotated[
        str,
        msgspec.Meta(description="What is wrong, in Meta's words", examples=[_BLOCKED_DESCRIPTION]),
    ]
    possible_solution: Annotated[
        str | None,
        msgspec.Meta(
            description="What fixes it, in Meta's words; null when Meta gives none", examples=[_BLOCKED_SOLUTION]
        ),
    ]

    @classmethod
    def of(cls, issue: HealthIssue) -> Self:
        return cls(
            issue.entity_type,
            issue.entity_id,
            issue.can_send_message,
            issue.error_code,
            issue.description,
            issue.possible_solution,
        )


HealthIssues = Annotated[
    tuple[HealthIssueView, ...],
    msgspec.Meta(
        description="Why the verdict is not `AVAILABLE`: one item per error of an entity Meta calls `BLOCKED`, one"
        " per line of additional information of an entity it calls `LIMITED` (`errorCode` null); `[]` when all is"
        " well or unknown",
        examples=[[_BLOCKED_ISSUE]],
    ),
]


def _issues(issues: tuple[HealthIssue, ...]) -> tuple[HealthIssueView, ...]:
    return tuple(map(HealthIssueView.of, issues)) if issues else ()


class PhoneNumberView(View):
    id: Annotated[str, msgspec.Meta(description="Meta's phone number id", examples=["267300000093634"])]
    display_phone_number: Annotated[str, msgspec.Meta(examples=["+62 852-1234-0016"])]
    verified_name: Annotated[str, msgspec.Meta(examples=["TIG Tech"])]
    status: Annotated[
        str,
        msgspec.Meta(
            description="`CONNECTED`, `FLAGGED`, `RESTRICTED`, …; `UNKNOWN` if absent", examples=["CONNECTED"]
        ),
    ]
    quality_rating: Annotated[
        str, msgspec.Meta(description="`GREEN`, `YELLOW`, `RED`, `NA`, …; `UNKNOWN` if absent", examples=["GREEN"])
    ]
    message_limit: Annotated[
        str,
        msgspec.Meta(
            description="`TIER_250`, `TIER_2K`, `TIER_UNLIMITED`, …; `UNKNOWN` if absent", examples=["TIER_250"]
        ),
    ]
    can_send_message: Annotated[
        str,
        msgspec.Meta(
            description=_VERDICT + " It takes in the number's WABA, business portfolio and app.",
            examples=["BLOCKED"],
        ),
    ]
    health_issues: HealthIssues
    name_status: Annotated[
        str,
        msgspec.Meta(
            description="Review of the display name: `APPROVED`, `PENDING_REVIEW`, `DECLINED`,"
            " `AVAILABLE_WITHOUT_REVIEW`, …; `UNKNOWN` if absent",
            examples=["APPROVED"],
        ),
    ]
    code_verification_status: Annotated[
        str,
        msgspec.Meta(
            description="Whether the number was verified by code: `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`, …;"
            " `UNKNOWN` if absent",
            examples=["VERIFIED"],
        ),
    ]
    platform_type: Annotated[
        str,
        msgspec.Meta(
            description="`CLOUD_API`, `ON_PREMISE`, `NOT_APPLICABLE` (not registered yet); `UNKNOWN` if absent",
            examples=["CLOUD_API"],
        ),
    ]
    throughput_level: Annotated[
        str,
        msgspec.Meta(
            description="Messages per second the number may send: `STANDARD`, `HIGH`, …; `UNKNOWN` if absent",
            examples=["STANDARD"],
        ),
    ]

    @classmethod
    def of(cls, phone: PhoneNumber) -> Self:
        return cls(
            phone.id,
            phone.display_phone_number,
            phone.verified_name,
            phone.status,
            phone.quality_rating,
            phone.messaging_limit,
            phone.can_send_message,
            _issues(phone.health_issues),
            phone.name_status,
            phone.code_verification_status,
            phone.platform_type,
            phone.throughput_level,
        )


class WabaView(View):
    waba_id: Annotated[str, msgspec.Meta(description="Meta's WABA id", examples=["278990000057662"])]
    waba_name: Annotated[str, msgspec.Meta(examples=["PT TIG CODE"])]
    waba_status: Annotated[
        str,
        msgspec.Meta(
            description="Meta's review of the WABA: `APPROVED`, `PENDING`, `REJECTED`, …; `UNKNOWN` if absent",
            examples=["APPROVED"],
        ),
    ]
    can_send_message: Annotated[str, msgspec.Meta(description=_VERDICT + " Of the WABA itself.", examples=["BLOCKED"])]
    health_issues: HealthIssues
    business_verification_status: Annotated[
        str,
        msgspec.Meta(
            description="Meta's verification of the business that owns the WABA, as Meta spells it (`verified`,"
            " `pending`, `not_verified`, `rejected`, …); `UNKNOWN` if absent",
            examples=["verified"],
        ),
    ]
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
        return cls(
            waba.id,
            waba.name,
            waba.review_status,
            waba.can_send_message,
            _issues(waba.health_issues),
            waba.business_verification_status,
            listed.accessible,
        )
