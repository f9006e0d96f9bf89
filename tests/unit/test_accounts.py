"""Authentication and account administration."""

from __future__ import annotations

import pytest

from intwa.domain.accounts import AccountAdministration, Authenticate, authorize, hash_api_key
from intwa.domain.errors import AccountAlreadyExists, AccountNotFound, Forbidden, InvalidField, Unauthenticated
from intwa.domain.models import NewApiKey
from tests.fakes.storage import InMemoryStorage


async def test_a_new_key_has_at_least_32_bytes_of_entropy_and_is_stored_only_as_a_hash(
    accounts: AccountAdministration, storage: InMemoryStorage
) -> None:
    issued = await accounts.create("IW0001")

    assert len(issued.api_key) >= 4 + 43  # prefix + 32 bytes in URL-safe base64
    assert await storage.find_account_by_key_hash(hash_api_key(issued.api_key)) is not None
    assert await storage.find_account_by_key_hash(issued.api_key) is None
    assert issued.api_key not in repr(issued)


async def test_two_accounts_never_get_the_same_key(accounts: AccountAdministration) -> None:
    keys = {(await accounts.create(f"IW{n:04d}")).api_key for n in range(20)}

    assert len(keys) == 20


async def test_authenticating_finds_the_keys_account(accounts: AccountAdministration, storage: InMemoryStorage) -> None:
    issued: NewApiKey = await accounts.create("IW0001")

    account = await Authenticate(storage)(issued.api_key)

    assert account.name == "IW0001"
    assert authorize(account, "IW0001") == "IW0001"


@pytest.mark.parametrize("key", [None, "", "iwk_unknown"])
async def test_a_missing_or_unknown_key_is_unauthenticated(storage: InMemoryStorage, key: str | None) -> None:
    with pytest.raises(Unauthenticated) as raised:
        await Authenticate(storage)(key)

    assert raised.value.code == 40100


async def test_a_disabled_account_is_forbidden_and_enabling_restores_it(
    accounts: AccountAdministration, storage: InMemoryStorage
) -> None:
    issued = await accounts.create("IW0001")
    authenticate = Authenticate(storage)

    await accounts.disable("IW0001")
    with pytest.raises(Forbidden):
        await authenticate(issued.api_key)
    await accounts.enable("IW0001")

    assert (await authenticate(issued.api_key)).enabled


async def test_acting_as_another_account_is_forbidden_and_a_bad_name_is_invalid(
    accounts: AccountAdministration, storage: InMemoryStorage
) -> None:
    account = await Authenticate(storage)((await accounts.create("IW0001")).api_key)

    with pytest.raises(Forbidden):
        authorize(account, "IW0002")
    with pytest.raises(InvalidField) as raised:
        authorize(account, "not valid")
    assert raised.value.field == "accountName"


async def test_rotating_a_key_retires_the_old_one(accounts: AccountAdministration, storage: InMemoryStorage) -> None:
    old = await accounts.create("IW0001")

    new = await accounts.rotate_key("IW0001")

    assert new.api_key != old.api_key
    with pytest.raises(Unauthenticated):
        await Authenticate(storage)(old.api_key)
    assert (await Authenticate(storage)(new.api_key)).name == "IW0001"


async def test_administration_errors_name_the_account(accounts: AccountAdministration) -> None:
    await accounts.create("IW0001")

    with pytest.raises(AccountAlreadyExists):
        await accounts.create("IW0001")
    with pytest.raises(AccountNotFound) as raised:
        await accounts.disable("IW9999")
    assert "IW9999" in raised.value.message
    with pytest.raises(AccountNotFound):
        await accounts.rotate_key("IW9999")
