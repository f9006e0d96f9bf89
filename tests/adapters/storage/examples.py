"""Accounts, bindings and snapshots that the storage tests build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from intwa.domain.models import Binding, Change, PhoneNumber, Waba, WabaSnapshot
from intwa.domain.ports import Storage

T0 = datetime(2026, 11, 27, 8, 52, 55, 123456, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A moment `seconds` after T0."""
    return T0 + timedelta(seconds=seconds)


def snapshot_of(
    waba_id: str, *phone_number_ids: str, name: str = "PT TIG TECH", fetched_at: datetime = T0
) -> WabaSnapshot:
    return WabaSnapshot(
        waba=Waba(id=waba_id, name=name, review_status="APPROVED"),
        phone_numbers=tuple(
            PhoneNumber(id=phone_id, display_phone_number=f"+62 852-1234-{index:04}", verified_name="TIG Tech")
            for index, phone_id in enumerate(phone_number_ids)
        ),
        fetched_at=fetched_at,
    )


def binding_of(account_name: str, waba_id: str, phone_number_id: str, bound_at: datetime = T0) -> Binding:
    return Binding(
        account_name=account_name,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        phone_number="6285212340016",
        bound_at=bound_at,
    )


async def bind(storage: Storage, account_name: str, waba_id: str, phone_number_id: str, seconds: float = 0) -> Binding:
    """Bind through the port, with a snapshot of the WABA that has the phone number."""
    binding = binding_of(account_name, waba_id, phone_number_id, at(seconds))
    return await storage.add_binding(binding, snapshot_of(waba_id, phone_number_id))


async def create_accounts(storage: Storage, *names: str) -> None:
    for name in names:
        await storage.create_account(name, f"hash-of-{name}", T0)


SNAPSHOT_STORED_BEFORE_HEALTH = (
    '{"waba":{"id":"278990000057661","name":"PT TIG TECH","review_status":"APPROVED"},'
    '"phone_numbers":[{"id":"267300000093634","display_phone_number":"+62 852-1234-0016","verified_name":"TIG Tech",'
    '"status":"CONNECTED","quality_rating":"GREEN","messaging_limit":"TIER_250"}],'
    '"fetched_at":"2026-11-27T08:52:55.123456Z","accessible":true,"review_status_at":null}'
)
"""A snapshot of WABA 278990000057661 as intwa stored it before it knew Meta's health verdict."""


def snapshot_before_health() -> WabaSnapshot:
    """`SNAPSHOT_STORED_BEFORE_HEALTH` as it reads now: every field it lacks `UNKNOWN`, no health issues."""
    phone = PhoneNumber("267300000093634", "+62 852-1234-0016", "TIG Tech", "CONNECTED", "GREEN", "TIER_250")
    return WabaSnapshot(waba=Waba("278990000057661", "PT TIG TECH", "APPROVED"), phone_numbers=(phone,), fetched_at=T0)


def refreshed_with_health(before: WabaSnapshot, fetched_at: datetime) -> WabaSnapshot:
    """`before` as a refresh after the upgrade reads it: Meta's verdicts and the number's name status known."""
    waba = msgspec.structs.replace(before.waba, can_send_message="AVAILABLE")
    phones = tuple(
        msgspec.structs.replace(phone, can_send_message="AVAILABLE", name_status="APPROVED")
        for phone in before.phone_numbers
    )
    return msgspec.structs.replace(before, waba=waba, phone_numbers=phones, fetched_at=fetched_at)


def changes_of_the_first_refresh_after_health(at_: datetime) -> list[Change]:
    """What that refresh records: the answers changed from `UNKNOWN` to Meta's values."""
    waba, phone = "278990000057661", "267300000093634"
    return [
        Change(at_, waba, None, "canSendMessage", "UNKNOWN", "AVAILABLE", "sync"),
        Change(at_, waba, phone, "canSendMessage", "UNKNOWN", "AVAILABLE", "sync"),
        Change(at_, waba, phone, "nameStatus", "UNKNOWN", "APPROVED", "sync"),
    ]
