"""Use cases for accounts and API keys: authentication and the operators' administration."""

from __future__ import annotations

import hashlib
import secrets

from intwa.domain import validation
from intwa.domain.errors import AccountNotFound, Forbidden, Unauthenticated
from intwa.domain.models import Account, AccountSummary, NewApiKey
from intwa.domain.ports import Clock, Storage

API_KEY_PREFIX = "iwk_"


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key. Keys carry 256 bits of entropy, so one SHA-256 round suffices."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key with 32 bytes of entropy."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class Authenticate:
    """Find the account an API key belongs to and check it may act as `accountName`."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def __call__(self, api_key: str | None) -> Account:
        """The key's account; `Unauthenticated` for a missing or unknown key, `Forbidden` if disabled."""
        if not api_key:
            raise Unauthenticated("missing API key: send `Authorization: Bearer <apiKey>`")
        account = await self._storage.find_account_by_key_hash(hash_api_key(api_key))
        if account is None:
            raise Unauthenticated("unknown API key")
        if not account.enabled:
            raise Forbidden(f"account `{account.name}` is disabled")
        return account


def authorize(account: Account, account_name: str) -> str:
    """Check that a request's `accountName` is valid and names the authenticated account."""
    if account_name == account.name:
        return account_name  # a stored name passed the rule when its account was created
    validation.account_name(account_name)
    raise Forbidden("`accountName` is not the account of this API key")


class AccountAdministration:
    """What operators do with accounts: create, list, disable, enable, rotate keys."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def create(self, name: str) -> NewApiKey:
        """Create an enabled account and return its first API key (shown once)."""
        validation.account_name(name, field="NAME")
        api_key = new_api_key()
        await self._storage.create_account(name, hash_api_key(api_key), self._clock.now())
        return NewApiKey(account_name=name, api_key=api_key)

    async def list(self) -> list[AccountSummary]:
        return await self._storage.list_accounts()

    async def disable(self, name: str) -> Account:
        return await self._storage.set_account_enabled(name, False)

    async def enable(self, name: str) -> Account:
        return await self._storage.set_account_enabled(name, True)

    async def rotate_key(self, name: str) -> NewApiKey:
        """Issue a new key; every older key of the account stops working at once."""
        api_key = new_api_key()
        await self._storage.replace_api_keys(name, hash_api_key(api_key), self._clock.now())
        return NewApiKey(account_name=name, api_key=api_key)

    async def require(self, name: str) -> Account:
        """The account of that name; `AccountNotFound` if there is none."""
        account = await self._storage.get_account(name)
        if account is None:
            raise AccountNotFound(f"no account named `{name}`")
        return account
