"""Binding and unbinding, with the provider asked only when needed (SPEC §3.3, §3.6)."""

from __future__ import annotations

import asyncio

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.errors import (
    BindingNotFound,
    InvalidField,
    PhoneNumberBoundToAnotherAccount,
    PhoneNumberMismatch,
    PhoneNumberNotInWaba,
    ProviderUnavailable,
    WabaBoundToAnotherAccount,
    WabaNotAccessible,
)
from tests.conftest import OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, UNKNOWN_WABA_ID, WABA_ID
from tests.fakes.storage import InMemoryStorage


@pytest.fixture(autouse=True)
async def two_accounts(accounts: AccountAdministration) -> None:
    await accounts.create("IW0001")
    await accounts.create("IW0002")


async def test_binding_stores_the_binding_with_a_fresh_snapshot(
    bind: BindPhoneNumber, storage: InMemoryStorage
) -> None:
    binding = await bind("IW0001", WABA_ID, PHONE_ID, "+62 (852) 1234-0016")

    assert binding.phone_number == "6285212340016"
    assert await storage.list_bindings("IW0001") == [binding]
    snapshot = await storage.get_snapshot(WABA_ID)
    assert snapshot is not None
    assert [phone.id for phone in snapshot.phone_numbers] == [PHONE_ID, SECOND_PHONE_ID]


async def test_binding_again_asks_meta_nothing_and_changes_nothing(
    bind: BindPhoneNumber, provider: FakeProvider
) -> None:
    first = await bind("IW0001", WABA_ID, PHONE_ID)
    calls = sum(provider.calls.values())

    again = await bind("IW0001", WABA_ID, PHONE_ID)

    assert again == first
    assert sum(provider.calls.values()) == calls


async def test_a_conflict_is_refused_before_meta_is_asked(bind: BindPhoneNumber, provider: FakeProvider) -> None:
    await bind("IW0001", WABA_ID, PHONE_ID)
    calls = sum(provider.calls.values())

    with pytest.raises(PhoneNumberBoundToAnotherAccount):
        await bind("IW0002", WABA_ID, PHONE_ID)
    with pytest.raises(WabaBoundToAnotherAccount):
        await bind("IW0002", WABA_ID, SECOND_PHONE_ID)

    assert sum(provider.calls.values()) == calls


@pytest.mark.parametrize(
    ("waba_id", "phone_id", "phone_number", "error"),
    [
        (UNKNOWN_WABA_ID, PHONE_ID, None, WabaNotAccessible),
        (WABA_ID, OTHER_WABA_PHONE_ID, None, PhoneNumberNotInWaba),
        (WABA_ID, PHONE_ID, "6285212340099", PhoneNumberMismatch),
        ("12ab", PHONE_ID, None, InvalidField),
        (WABA_ID, "", None, InvalidField),
        (WABA_ID, PHONE_ID, "12-34", InvalidField),
    ],
)
async def test_a_failed_bind_stores_nothing(
    bind: BindPhoneNumber,
    storage: InMemoryStorage,
    provider: FakeProvider,
    waba_id: str,
    phone_id: str,
    phone_number: str | None,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await bind("IW0001", waba_id, phone_id, phone_number)

    assert await storage.list_bindings() == []
    assert await storage.waba_owner(waba_id) is None
    assert provider.calls["subscribe_app"] == 0


async def test_a_provider_outage_during_bind_stores_nothing(
    bind: BindPhoneNumber, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    provider.fail_with(WABA_ID, ProviderUnavailable("Meta is down"))

    with pytest.raises(ProviderUnavailable):
        await bind("IW0001", WABA_ID, PHONE_ID)

    assert await storage.list_bindings() == []


async def test_racing_binds_of_one_number_have_one_winner(
    bind: BindPhoneNumber, accounts: AccountAdministration
) -> None:
    names = [f"IW1{n:03d}" for n in range(10)]
    for name in names:
        await accounts.create(name)

    results = await asyncio.gather(*(bind(name, WABA_ID, PHONE_ID) for name in names), return_exceptions=True)

    winners = [result for result in results if not isinstance(result, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(result, PhoneNumberBoundToAnotherAccount) for result in results if result not in winners)


async def test_unbinding_removes_only_that_binding(bind: BindPhoneNumber, storage: InMemoryStorage) -> None:
    await bind("IW0001", WABA_ID, PHONE_ID)
    kept = await bind("IW0001", WABA_ID, SECOND_PHONE_ID)

    removed = await UnbindPhoneNumber(storage)("IW0001", WABA_ID, PHONE_ID)

    assert removed.phone_number_id == PHONE_ID
    assert await storage.list_bindings() == [kept]
    with pytest.raises(BindingNotFound):
        await UnbindPhoneNumber(storage)("IW0002", WABA_ID, SECOND_PHONE_ID)
