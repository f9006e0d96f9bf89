"""Accounts, bindings and snapshots that the storage tests build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from intwa.domain.models import Binding, PhoneNumber, Waba, WabaSnapshot
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
