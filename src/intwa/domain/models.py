"""What intwa knows about accounts, WABAs, phone numbers and bindings."""

from __future__ import annotations

from datetime import datetime

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


class NewApiKey(msgspec.Struct, frozen=True):
    """A freshly issued API key: shown once, then only its hash is kept."""

    account_name: str
    api_key: str

    def __repr__(self) -> str:
        return f"NewApiKey(account_name={self.account_name!r}, api_key='***')"


class Waba(msgspec.Struct, frozen=True):
    """A WhatsApp Business Account as Meta describes it."""

    id: str
    name: str
    review_status: str = UNKNOWN


class PhoneNumber(msgspec.Struct, frozen=True):
    """A WhatsApp business phone number of a WABA, as Meta describes it.

    Enum-like fields keep Meta's values unchanged: Meta adds values without notice.
    """

    id: str
    display_phone_number: str
    verified_name: str = ""
    status: str = UNKNOWN
    quality_rating: str = UNKNOWN
    messaging_limit: str = UNKNOWN


class WabaSnapshot(msgspec.Struct, frozen=True):
    """The last known provider data of a WABA and all its phone numbers."""

    waba: Waba
    phone_numbers: tuple[PhoneNumber, ...]
    fetched_at: datetime

    def phone_number(self, phone_number_id: str) -> PhoneNumber | None:
        """The phone number with this id, if the WABA has it."""
        for phone in self.phone_numbers:
            if phone.id == phone_number_id:
                return phone
        return None


class Binding(msgspec.Struct, frozen=True):
    """A phone number of a WABA bound to an account."""

    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str
    bound_at: datetime
