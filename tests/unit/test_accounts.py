"""Authentication and account administration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intwa.domain.accounts import (
    AccountAdministration,
    Authenticate,
    OldKeys,
    authorize,
    hash_api_key,
    retire_old_keys,
)
from intwa.domain.errors import AccountAlreadyExists, AccountNotFound, Forbidden, InvalidField, Unauthenticated
from intwa.domain.models import NewApiKey
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage


async def test_a_new_key_has_at_least_32_bytes_of_entropy_and_is_stored_only_as_a_hash(
    accounts: AccountAdministration, storage: InMemoryStorage
) -> None:
    issued = await accounts.create("IW0001")

    assert len(issued.api_key) >= 4 + 43  # prefix + 32 bytes in URL-safe base64
    assert await storage.find_key_owner(hash_api_key(issued.api_key)) is not None
    assert await storage.find_key_owner(issued.api_key) is None
    assert issued.api_key not in repr(issued)


async def test_two_accounts_never_get_the_same_key(accounts: AccountAdministration) -> None:
    keys = {(await accounts.create(f"IW{n:04d}")).api_key for n in range(20)}

    assert len(keys) == 20


async def test_authenticating_finds_the_keys_account(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    issued: NewApiKey = await accounts.create("IW0001")

    account = await Authenticate(storage, clock)(issued.api_key)

    assert account.name == "IW0001"
    assert authorize(account, "IW0001") == "IW0001"


@pytest.mark.parametrize("key", [None, "", "iwk_unknown"])
async def test_a_missing_or_unknown_key_is_unauthenticated(
    storage: InMemoryStorage, key: str | None, clock: FakeClock
) -> None:
    with pytest.raises(Unauthenticated) as raised:
        await Authenticate(storage, clock)(key)

    assert raised.value.code == 40100


async def test_a_disabled_account_is_forbidden_and_enabling_restores_it(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    issued = await accounts.create("IW0001")
    authenticate = Authenticate(storage, clock)

    await accounts.disable("IW0001")
    with pytest.raises(Forbidden):
        await authenticate(issued.api_key)
    await accounts.enable("IW0001")

    assert (await authenticate(issued.api_key)).enabled


async def test_acting_as_another_account_is_forbidden_and_a_bad_name_is_invalid(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    account = await Authenticate(storage, clock)((await accounts.create("IW0001")).api_key)

    with pytest.raises(Forbidden):
        authorize(account, "IW0002")
    with pytest.raises(InvalidField) as raised:
        authorize(account, "not valid")
    assert raised.value.field == "accountName"


async def test_rotating_a_key_retires_the_old_one(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    old = await accounts.create("IW0001")

    new = await accounts.rotate_key("IW0001")

    assert new.api_key != old.api_key
    with pytest.raises(Unauthenticated):
        await Authenticate(storage, clock)(old.api_key)
    assert (await Authenticate(storage, clock)(new.api_key)).name == "IW0001"


async def test_administration_errors_name_the_account(accounts: AccountAdministration) -> None:
    await accounts.create("IW0001")

    with pytest.raises(AccountAlreadyExists):
        await accounts.create("IW0001")
    with pytest.raises(AccountNotFound) as raised:
        await accounts.disable("IW9999")
    assert "IW9999" in raised.value.message
    with pytest.raises(AccountNotFound):
        await accounts.rotate_key("IW9999")


async def test_a_rotation_that_keeps_the_old_key_lets_both_work_until_then(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    old = await accounts.create("IW0001")
    authenticate = Authenticate(storage, clock)

    new = await accounts.rotate_key("IW0001", keep_old_for=timedelta(hours=24))

    assert new.old_keys_valid_until == clock.now() + timedelta(hours=24)
    assert (await authenticate(old.api_key)).name == "IW0001"
    assert (await authenticate(new.api_key)).name == "IW0001"
    clock.advance(24 * 3600 - 1)
    assert (await authenticate(old.api_key)).name == "IW0001"
    clock.advance(1)
    with pytest.raises(Unauthenticated, match=r"^unknown API key$"):  # as a key that never existed
        await authenticate(old.api_key)
    assert (await authenticate(new.api_key)).name == "IW0001"


async def test_a_later_rotation_never_lengthens_a_kept_keys_life_and_a_plain_one_ends_them_all(
    accounts: AccountAdministration, storage: InMemoryStorage, clock: FakeClock
) -> None:
    first = await accounts.create("IW0001")
    authenticate = Authenticate(storage, clock)
    second = await accounts.rotate_key("IW0001", keep_old_for=timedelta(hours=1))

    third = await accounts.rotate_key("IW0001", keep_old_for=timedelta(days=1))

    assert third.old_keys_valid_until == clock.now() + timedelta(days=1)
    clock.advance(3600)
    with pytest.raises(Unauthenticated):
        await authenticate(first.api_key)  # it kept its earlier end
    assert (await authenticate(second.api_key)).name == "IW0001"
    fourth = await accounts.rotate_key("IW0001")
    assert fourth.old_keys_valid_until is None
    for retired in (first, second, third):
        with pytest.raises(Unauthenticated):
            await authenticate(retired.api_key)
    assert len(storage.key_hashes) == 1  # expired and cut keys are not kept


@pytest.mark.parametrize("keep_old_for", [timedelta(seconds=-1), timedelta(days=7, seconds=1)])
async def test_keeping_old_keys_for_less_than_nothing_or_more_than_7_days_is_refused(
    accounts: AccountAdministration, storage: InMemoryStorage, keep_old_for: timedelta
) -> None:
    await accounts.create("IW0001")
    before = dict(storage.key_hashes)

    with pytest.raises(InvalidField, match="7 days"):
        await accounts.rotate_key("IW0001", keep_old_for=keep_old_for)

    assert storage.key_hashes == before


def test_retiring_old_keys_keeps_the_earlier_end_and_deletes_what_has_ended() -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    keys = [("never", None), ("later", now + timedelta(hours=5)), ("sooner", now + timedelta(hours=1)), ("gone", now)]

    old = retire_old_keys(keys, now + timedelta(hours=2), now)

    assert old.deleted == ["gone"]
    assert old.valid_until == [
        ("never", now + timedelta(hours=2)),
        ("later", now + timedelta(hours=2)),
        ("sooner", now + timedelta(hours=1)),
    ]
    assert old.last_valid() == now + timedelta(hours=2)
    assert retire_old_keys(keys, now, now) == OldKeys(["never", "later", "sooner", "gone"], [])
    assert retire_old_keys(keys, now, now).last_valid() is None
