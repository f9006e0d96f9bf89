"""What every `Storage` backend promises about accounts, keys and bindings; run against each of `conftest.BACKENDS`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from intwa.domain.errors import (
    AccountAlreadyExists,
    AccountNotFound,
    BindingNotFound,
    PhoneNumberBoundToAnotherAccount,
    PhoneNumberNotInWaba,
    WabaBoundToAnotherAccount,
)
from intwa.domain.models import Account, AccountSummary, ApiKeyOwner
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, at, bind, binding_of, create_accounts, snapshot_of

WABA = "278990000057661"
OTHER_WABA = "278990000057662"
PHONE = "267300000093634"
SECOND_PHONE = "267300000093635"
OTHER_PHONE = "267300000093636"


async def test_the_store_answers_and_migrating_again_applies_nothing(storage: Storage) -> None:
    await storage.ping()
    assert await storage.migrate() == []


# accounts and keys


async def test_a_new_account_is_enabled_and_found_by_name_and_by_key_hash(storage: Storage) -> None:
    created = await storage.create_account("acme", "hash-1", T0)
    stored = await storage.get_account("acme")

    assert created == Account(name="acme", enabled=True, created_at=T0)
    assert stored == created
    assert stored.created_at.tzinfo == UTC
    assert await storage.find_key_owner("hash-1") == ApiKeyOwner(created, valid_until=None)


async def test_unknown_accounts_and_keys_are_not_found(storage: Storage) -> None:
    await storage.create_account("acme", "hash-1", T0)

    assert await storage.get_account("ACME") is None
    assert await storage.find_key_owner("hash-2") is None


async def test_creating_an_account_with_a_taken_name_is_rejected_and_stores_nothing(storage: Storage) -> None:
    await storage.create_account("acme", "hash-1", T0)

    with pytest.raises(AccountAlreadyExists, match="`acme`") as raised:
        await storage.create_account("acme", "hash-2", at(60))

    assert raised.value.code == 40902
    assert await storage.find_key_owner("hash-2") is None
    assert await storage.get_account("acme") == Account(name="acme", enabled=True, created_at=T0)


async def test_a_disabled_account_reads_disabled_everywhere_until_enabled(storage: Storage) -> None:
    await storage.create_account("acme", "hash-1", T0)

    disabled = await storage.set_account_enabled("acme", False)

    assert disabled == Account(name="acme", enabled=False, created_at=T0)
    assert await storage.get_account("acme") == disabled
    assert await storage.find_key_owner("hash-1") == ApiKeyOwner(disabled)
    assert (await storage.set_account_enabled("acme", True)).enabled
    assert await storage.find_key_owner("hash-1") == ApiKeyOwner(Account(name="acme", enabled=True, created_at=T0))


async def test_rotating_api_keys_without_keeping_them_deletes_every_older_key(storage: Storage) -> None:
    await storage.create_account("acme", "hash-1", T0)
    assert await storage.rotate_api_keys("acme", "hash-2", at(60), at(60)) is None

    assert await storage.rotate_api_keys("acme", "hash-3", at(120), at(120)) is None

    assert await storage.find_key_owner("hash-1") is None
    assert await storage.find_key_owner("hash-2") is None
    assert await storage.find_key_owner("hash-3") == ApiKeyOwner(await storage.get_account("acme"))


async def test_rotating_api_keys_keeps_older_keys_until_then_and_never_lengthens_their_life(storage: Storage) -> None:
    account = await storage.create_account("acme", "hash-1", T0)

    assert await storage.rotate_api_keys("acme", "hash-2", at(60), at(3600)) == at(3600)
    assert await storage.rotate_api_keys("acme", "hash-3", at(120), at(7200)) == at(7200)

    assert await storage.find_key_owner("hash-1") == ApiKeyOwner(account, valid_until=at(3600))  # its earlier end
    assert await storage.find_key_owner("hash-2") == ApiKeyOwner(account, valid_until=at(7200))
    assert await storage.find_key_owner("hash-3") == ApiKeyOwner(account, valid_until=None)
    owner = await storage.find_key_owner("hash-2")
    assert owner is not None
    assert owner.valid_until is not None
    assert owner.valid_until.tzinfo == UTC


async def test_a_rotation_deletes_the_older_keys_that_have_expired(storage: Storage) -> None:
    account = await storage.create_account("acme", "hash-1", T0)
    await storage.rotate_api_keys("acme", "hash-2", at(60), at(3600))

    assert await storage.rotate_api_keys("acme", "hash-3", at(3600), at(3600 + 60)) == at(3600 + 60)

    assert await storage.find_key_owner("hash-1") is None  # its end was not after the rotation: deleted
    assert await storage.find_key_owner("hash-2") == ApiKeyOwner(account, valid_until=at(3600 + 60))
    assert await storage.rotate_api_keys("acme", "hash-4", at(3600 + 60), at(3600 + 60)) is None
    assert [await storage.find_key_owner(f"hash-{n}") is None for n in (2, 3, 4)] == [True, True, False]


async def test_changing_an_unknown_account_is_rejected_with_its_name(storage: Storage) -> None:
    with pytest.raises(AccountNotFound, match="`ghost`") as raised:
        await storage.set_account_enabled("ghost", False)
    assert raised.value.code == 40402
    with pytest.raises(AccountNotFound, match="`ghost`"):
        await storage.rotate_api_keys("ghost", "hash-1", T0, at(60))
    assert await storage.find_key_owner("hash-1") is None


async def test_accounts_are_listed_by_name_with_their_waba_and_binding_counts(storage: Storage) -> None:
    await create_accounts(storage, "zeta", "acme", "idle")
    await bind(storage, "acme", WABA, PHONE)
    await bind(storage, "acme", WABA, SECOND_PHONE)
    await bind(storage, "zeta", OTHER_WABA, OTHER_PHONE)
    await storage.set_account_enabled("idle", False)

    assert await storage.list_accounts() == [
        AccountSummary(name="acme", enabled=True, created_at=T0, waba_count=1, binding_count=2),
        AccountSummary(name="idle", enabled=False, created_at=T0, waba_count=0, binding_count=0),
        AccountSummary(name="zeta", enabled=True, created_at=T0, waba_count=1, binding_count=1),
    ]


# bindings


async def test_binding_stores_the_binding_its_waba_owner_and_the_snapshot(storage: Storage) -> None:
    await create_accounts(storage, "acme")
    binding = binding_of("acme", WABA, PHONE)
    snapshot = snapshot_of(WABA, PHONE, SECOND_PHONE)

    assert await storage.add_binding(binding, snapshot) == binding

    assert await storage.find_binding(PHONE) == binding
    assert await storage.waba_owner(WABA) == "acme"
    assert await storage.get_snapshot(WABA) == snapshot
    assert await storage.list_bindings() == [binding]
    assert await storage.all_bound_waba_ids() == [WABA]


async def test_binding_the_same_phone_number_again_returns_the_first_binding_unchanged(storage: Storage) -> None:
    await create_accounts(storage, "acme")
    first = await bind(storage, "acme", WABA, PHONE)
    again = binding_of("acme", WABA, PHONE, bound_at=at(3600))

    assert await storage.add_binding(again, snapshot_of(WABA, PHONE, fetched_at=at(3600))) == first

    assert await storage.list_bindings("acme") == [first]
    assert await storage.account_waba_ids("acme") == [WABA]


async def test_binding_a_waba_of_another_account_is_rejected_with_40900(storage: Storage) -> None:
    await create_accounts(storage, "acme", "rival")
    await bind(storage, "acme", WABA, PHONE)

    with pytest.raises(WabaBoundToAnotherAccount, match=f"`{WABA}`") as raised:
        await bind(storage, "rival", WABA, SECOND_PHONE)

    assert raised.value.code == 40900
    assert await storage.find_binding(SECOND_PHONE) is None
    assert await storage.account_waba_ids("rival") == []


@pytest.mark.parametrize("waba_id", [WABA, OTHER_WABA], ids=["same-waba", "other-waba"])
async def test_binding_a_phone_number_of_another_account_is_rejected_with_40901(storage: Storage, waba_id: str) -> None:
    await create_accounts(storage, "acme", "rival")
    first = await bind(storage, "acme", WABA, PHONE)

    with pytest.raises(PhoneNumberBoundToAnotherAccount, match=f"`{PHONE}`") as raised:
        await bind(storage, "rival", waba_id, PHONE)

    assert raised.value.code == 40901
    assert "constraint" not in raised.value.message.lower()
    assert await storage.find_binding(PHONE) == first
    assert await storage.all_bound_waba_ids() == [WABA]
    assert await storage.get_snapshot(OTHER_WABA) is None


async def test_binding_a_phone_number_again_under_another_waba_is_rejected_and_stores_nothing(storage: Storage) -> None:
    await create_accounts(storage, "acme")
    first = await bind(storage, "acme", WABA, PHONE)

    with pytest.raises(PhoneNumberNotInWaba, match=f"`{PHONE}`"):
        await bind(storage, "acme", OTHER_WABA, PHONE)

    assert await storage.list_bindings() == [first]
    assert await storage.waba_owner(OTHER_WABA) is None
    assert await storage.get_snapshot(OTHER_WABA) is None


async def test_binding_for_an_unknown_account_is_rejected_and_stores_nothing(storage: Storage) -> None:
    with pytest.raises(AccountNotFound, match="`ghost`"):
        await bind(storage, "ghost", WABA, PHONE)

    assert await storage.list_bindings() == []
    assert await storage.waba_owner(WABA) is None
    assert await storage.get_snapshot(WABA) is None


async def test_unbinding_returns_the_binding_and_keeps_the_waba_while_it_has_phone_numbers(storage: Storage) -> None:
    await create_accounts(storage, "acme", "rival")
    first = await bind(storage, "acme", WABA, PHONE)
    second = await bind(storage, "acme", WABA, SECOND_PHONE, seconds=60)

    assert await storage.remove_binding("acme", WABA, PHONE) == first

    assert await storage.find_binding(PHONE) is None
    assert await storage.list_bindings() == [second]
    assert await storage.waba_owner(WABA) == "acme"
    assert await storage.get_snapshot(WABA) is not None
    with pytest.raises(WabaBoundToAnotherAccount):
        await bind(storage, "rival", WABA, PHONE)


async def test_unbinding_the_last_phone_number_releases_the_waba_and_its_snapshot(storage: Storage) -> None:
    await create_accounts(storage, "acme", "rival")
    await bind(storage, "acme", WABA, PHONE)

    await storage.remove_binding("acme", WABA, PHONE)

    assert await storage.waba_owner(WABA) is None
    assert await storage.get_snapshot(WABA) is None
    assert await storage.all_bound_waba_ids() == []
    assert (await storage.list_accounts())[0].waba_count == 0
    rebound = await bind(storage, "rival", WABA, PHONE, seconds=60)
    assert await storage.find_binding(PHONE) == rebound
    assert await storage.account_waba_ids("rival") == [WABA]


async def test_unbinding_what_the_account_has_not_bound_is_rejected_with_40401(storage: Storage) -> None:
    await create_accounts(storage, "acme", "rival")
    first = await bind(storage, "acme", WABA, PHONE)

    for account_name, waba_id, phone_number_id in [
        ("rival", WABA, PHONE),  # another account's binding
        ("acme", OTHER_WABA, PHONE),  # the right phone number under the wrong WABA
        ("acme", WABA, SECOND_PHONE),  # a number never bound
    ]:
        with pytest.raises(BindingNotFound, match=f"`{phone_number_id}`") as raised:
            await storage.remove_binding(account_name, waba_id, phone_number_id)
        assert raised.value.code == 40401

    assert await storage.list_bindings() == [first]
    assert await storage.waba_owner(WABA) == "acme"


async def test_bindings_are_listed_by_account_then_binding_time_then_phone_number_id(storage: Storage) -> None:
    await create_accounts(storage, "acme", "zeta")
    late = await bind(storage, "acme", WABA, "1003", seconds=120)
    zeta = await bind(storage, "zeta", OTHER_WABA, "1000", seconds=0)
    tie_b = await bind(storage, "acme", WABA, "1002", seconds=60)
    tie_a = await bind(storage, "acme", WABA, "1001", seconds=60)
    early = await bind(storage, "acme", WABA, "1009", seconds=0.000001)

    assert await storage.list_bindings() == [early, tie_a, tie_b, late, zeta]
    assert await storage.list_bindings("acme") == [early, tie_a, tie_b, late]
    assert await storage.list_bindings("nobody") == []


async def _bind_wabas_out_of_order(storage: Storage) -> None:
    """acme binds WABAs 3000, 0999 and 1000 in that order of first binding; zeta binds 2000 before all."""
    await create_accounts(storage, "acme", "zeta")
    await bind(storage, "acme", "3000", "1", seconds=300)
    await bind(storage, "zeta", "2000", "2", seconds=200)
    await bind(storage, "acme", "1000", "3", seconds=400)
    await bind(storage, "acme", "3000", "4", seconds=500)  # a later phone keeps its WABA's place
    await bind(storage, "acme", "0999", "5", seconds=400)  # same time: by id


async def test_wabas_are_ordered_by_their_first_binding_time(storage: Storage) -> None:
    await _bind_wabas_out_of_order(storage)

    assert await storage.account_waba_ids("acme") == ["3000", "0999", "1000"]
    assert await storage.all_bound_waba_ids() == ["2000", "3000", "0999", "1000"]
    assert await storage.account_waba_ids("nobody") == []


async def test_an_accounts_wabas_are_read_with_their_snapshots_in_first_binding_order(storage: Storage) -> None:
    await _bind_wabas_out_of_order(storage)

    wabas = await storage.account_snapshots("acme")

    assert [waba_id for waba_id, _ in wabas] == await storage.account_waba_ids("acme") == ["3000", "0999", "1000"]
    assert wabas == [(waba_id, await storage.get_snapshot(waba_id)) for waba_id in ("3000", "0999", "1000")]
    assert wabas[0] == ("3000", snapshot_of("3000", "4"))
    assert await storage.account_snapshots("zeta") == [("2000", snapshot_of("2000", "2"))]
    assert await storage.account_snapshots("nobody") == []


async def test_an_accounts_snapshots_show_what_was_stored_and_unbound_at_once(storage: Storage) -> None:
    await create_accounts(storage, "acme")
    await bind(storage, "acme", WABA, PHONE)
    await bind(storage, "acme", OTHER_WABA, OTHER_PHONE, seconds=60)
    assert len(await storage.account_snapshots("acme")) == 2  # remembered, where a backend remembers
    renamed = snapshot_of(WABA, PHONE, name="PT TIG TECH (renamed)", fetched_at=at(120))

    await storage.save_snapshot(renamed, "request")
    await storage.remove_binding("acme", OTHER_WABA, OTHER_PHONE)

    assert await storage.account_snapshots("acme") == [(WABA, renamed)]
    assert await storage.get_snapshot(WABA) == renamed
    assert await storage.account_waba_ids("acme") == [WABA]


async def test_times_read_back_as_the_same_instant_in_utc(storage: Storage) -> None:
    jakarta = timezone(timedelta(hours=7))
    await storage.create_account("acme", "hash-1", datetime(2026, 11, 27, 15, 52, 55, 1, tzinfo=jakarta))
    binding = binding_of("acme", WABA, PHONE, bound_at=datetime(2026, 11, 27, 16, 0, tzinfo=jakarta))
    await storage.add_binding(binding, snapshot_of(WABA, PHONE))

    account = await storage.get_account("acme")
    stored = await storage.find_binding(PHONE)

    assert account is not None
    assert account.created_at == datetime(2026, 11, 27, 8, 52, 55, 1, tzinfo=UTC)
    assert account.created_at.utcoffset() == timedelta(0)
    assert stored is not None
    assert stored.bound_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert stored.bound_at.utcoffset() == timedelta(0)


async def test_unknown_phone_numbers_and_wabas_have_no_binding_owner_or_snapshot(storage: Storage) -> None:
    assert await storage.find_binding(PHONE) is None
    assert await storage.waba_owner(WABA) is None
    assert await storage.get_snapshot(WABA) is None
    assert await storage.list_bindings() == []
    assert await storage.all_bound_waba_ids() == []
    assert await storage.list_accounts() == []


async def test_a_migrated_store_reports_its_schema_current(storage: Storage) -> None:
    assert (await storage.schema_state()).standing == "current"
