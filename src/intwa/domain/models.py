"""What intwa knows about accounts, WABAs, phone numbers and bindings."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

UNKNOWN = "UNKNOWN"
"""What a status, rating or limit reads when Meta did not send it."""


class Account(msgspec.Struct, frozen=True):
    """A customer of the platform's API, identified by its `accountName`."""

    name: str
    enabled: bool
    created_at: datetime


class AccountSummary(msgspec.Struct, frozen=True):
    """An account with the numbers an operator wants to see next to it."""

    name: str
    enabled: bool
    created_at: datetime
    waba_count: int
    binding_count: int


class ApiKeyOwner(msgspec.Struct, frozen=True):
    """The account an API key belongs to, and until when the key works: None until the account's next rotation."""

    account: Account
    valid_until: datetime | None = None


class NewApiKey(msgspec.Struct, frozen=True):
    """A freshly issued API key: shown once, then only its hash is kept.

    `old_keys_valid_until`: when a rotation leaves the account's older keys working for a while, the last
    moment one of them still works; None when none does.
    """

    account_name: str
    api_key: str
    old_keys_valid_until: datetime | None = None

    def __repr__(self) -> str:
        return f"NewApiKey(account_name={self.account_name!r}, api_key='***')"


class HealthIssue(msgspec.Struct, frozen=True):
    """Why Meta says a number or WABA cannot send, or sends with limits, and what fixes it (SPEC §3.4).

    One error of an entity Meta calls BLOCKED, or one line of additional information of an entity it calls
    LIMITED (`error_code` and `possible_solution` are then None). Entities are Meta's: the phone number, its
    WABA, the business portfolio, the app.
    """

    entity_type: str
    entity_id: str
    can_send_message: str
    error_code: int | None
    description: str
    possible_solution: str | None = None


class Waba(msgspec.Struct, frozen=True):
    """A WhatsApp Business Account as Meta describes it, with Meta's verdict on whether it can send."""

    id: str
    name: str
    review_status: str = UNKNOWN
    can_send_message: str = UNKNOWN
    health_issues: tuple[HealthIssue, ...] = ()
    business_verification_status: str = UNKNOWN


class PhoneNumber(msgspec.Struct, frozen=True):
    """A WhatsApp business phone number of a WABA, as Meta describes it.

    Enum-like fields keep Meta's values unchanged: Meta adds values without notice. `can_send_message` is
    Meta's overall verdict for the number, which takes in its WABA, business portfolio and app.
    """

    id: str
    display_phone_number: str
    verified_name: str = ""
    status: str = UNKNOWN
    quality_rating: str = UNKNOWN
    messaging_limit: str = UNKNOWN
    can_send_message: str = UNKNOWN
    health_issues: tuple[HealthIssue, ...] = ()
    name_status: str = UNKNOWN
    code_verification_status: str = UNKNOWN
    platform_type: str = UNKNOWN
    throughput_level: str = UNKNOWN


class WabaSnapshot(msgspec.Struct, frozen=True):
    """The last known provider data of a WABA and all its phone numbers.

    `accessible` is False when Meta last said the WABA is gone or no longer shared with the platform; the
    data then keeps its last known values. `review_status_at` is the time of the Meta event that last set
    the review status (None when it came with a fetch), so a late redelivery never rolls it back.
    """

    waba: Waba
    phone_numbers: tuple[PhoneNumber, ...]
    fetched_at: datetime
    accessible: bool = True
    review_status_at: datetime | None = None

    def phone_number(self, phone_number_id: str) -> PhoneNumber | None:
        """The phone number with this id, if the WABA has it."""
        for phone in self.phone_numbers:
            if phone.id == phone_number_id:
                return phone
        return None


class ListedWaba(msgspec.Struct, frozen=True):
    """A WABA as an account's list shows it: Meta's data, and whether Meta still answers for it.

    `refresh_error` says why a refresh that was due failed (the list then shows the last known data).
    """

    waba: Waba
    accessible: bool = True
    refresh_error: str | None = None


class Binding(msgspec.Struct, frozen=True):
    """A phone number of a WABA bound to an account."""

    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str
    bound_at: datetime


class WabaUsage(msgspec.Struct, frozen=True):
    """How much of Meta's rate limit a WABA has used, as Meta last reported it.

    The usage values are percentages (the highest of the header's entries); `regain_access_at` is when a
    throttled WABA may call again, None when Meta reported no wait.
    """

    call_count: float
    total_cputime: float
    total_time: float
    regain_access_at: datetime | None = None

    @property
    def highest_percentage(self) -> float:
        return max(self.call_count, self.total_cputime, self.total_time)


ChangeSource = Literal["bind", "request", "sync", "webhook", "operator"]
"""What brought a change: a customer's bind, a customer's request (an unbind, a read that refreshed), the
background or CLI sync, a Meta webhook, or an operator's bind or unbind (CLI)."""

TrackedField = Literal[
    "status",
    "qualityRating",
    "messageLimit",
    "verifiedName",
    "displayPhoneNumber",
    "wabaName",
    "wabaStatus",
    "canSendMessage",
    "nameStatus",
    "accessible",
    "phoneNumber",
]
"""A tracked field. `phoneNumber` is a number added to the WABA (old null, new its id) or removed (the reverse)."""


class Change(msgspec.Struct, frozen=True):
    """One recorded change of a tracked field; `phone_number_id` is None for a WABA's own fields."""

    at: datetime
    waba_id: str
    phone_number_id: str | None
    field: TrackedField
    old: str | None
    new: str | None
    source: ChangeSource


class WebhookEvent(msgspec.Struct, frozen=True):
    """A Meta webhook change kept as received: partner and capability events have no snapshot to update.

    `object_id` is the entry's id (a WABA or a business); `waba_id` is the WABA it concerns, if any.
    `fingerprint` identifies the change, so a replayed delivery is recorded once.
    """

    received_at: datetime
    object_id: str
    waba_id: str | None
    field: str
    event: str | None
    payload: str
    fingerprint: str


class CustomerEvent(msgspec.Struct, frozen=True):
    """A customer event as stored (SPEC §3.10): whom it is for, its place in its WABA's sequence, and its document.

    `document` is the event's JSON as it was written, answered by the feed and delivered by callbacks as is;
    `created_at` is when it was written, from which it is kept `events.retention_days`.
    """

    id: str
    account_name: str
    waba_id: str
    sequence: int
    type: str
    created_at: datetime
    document: bytes
