"""Use cases for accounts and API keys: authentication and the operators' administration."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from intwa.domain import validation
from intwa.domain.errors import AccountNotFound, Forbidden, InvalidField, Unauthenticated
from intwa.domain.models import Account, AccountSummary, NewApiKey
from intwa.domain.ports import Clock, Storage

API_KEY_PREFIX = "iwk_"

MAX_KEEP_OLD_KEYS = timedelta(days=7)
"""How long a rotation may leave the older keys working (SPEC §4): long enough to roll a new key out."""


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key. Keys carry 256 bits of entropy, so one SHA-256 round suffices."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh random API key with 32 bytes of entropy."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def key_expired(valid_until: datetime, now: datetime) -> bool:
    """Whether a key that works until `valid_until` no longer works at `now`."""
    return valid_until <= now


class OldKeys(NamedTuple):
    """What a rotation does to the account's older keys: which go, and which stop working when."""

    deleted: list[str]
    """Key hashes that no longer work: rows that need not be kept."""
    valid_until: list[tuple[str, datetime]]
    """Key hashes that keep working a while, with their new end."""

    def last_valid(self) -> datetime | None:
        """The last moment an older key still works; None when none does."""
        return max((until for _, until in self.valid_until), default=None)


def retire_old_keys(keys: Iterable[tuple[str, datetime | None]], until: datetime, now: datetime) -> OldKeys:
    """The end of each of an account's `(key hash, valid until)` keys when a new key replaces them.

    Each works until `until` or its own earlier end: a second rotation never lengthens a key's life.
    Keys whose end is not after `now` are deleted, among them every key of a rotation that keeps none.
    """
    deleted: list[str] = []
    kept: list[tuple[str, datetime]] = []
    for key_hash, valid_until in keys:
        end = until if valid_until is None else min(valid_until, until)
        if key_expired(end, now):
            deleted.append(key_hash)
        else:
            kept.append((key_hash, end))
    return OldKeys(deleted, kept)


class Authenticate:
    """Find the account an API key belongs to and check it may act as `accountName`."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def __call__(self, api_key: str | None) -> Account:
        """The key's account; `Unauthenticated` for a missing, unknown or expired key, `Forbidden` if disabled.

        A key's end is checked on each call, so a key remembered by the storage's memory layer still stops
        working at its end.
        """
        if not api_key:
            raise Unauthenticated("missing API key: send `Authorization: Bearer <apiKey>`")
        owner = await self._storage.find_key_owner(hash_api_key(api_key))
        # An expired key is answered as an unknown one: nothing tells a caller that the key once worked.
        if owner is None or (owner.valid_until is not None and key_expired(owner.valid_until, self._clock.now())):
            raise Unauthenticated("unknown API key")
        account = owner.account
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

    async def rotate_key(self, name: str, keep_old_for: timedelta = timedelta(0)) -> NewApiKey:
        """Issue a new key that works at once; the account's older keys stop working after `keep_old_for`.

        Zero (the default) stops them at once; at most `MAX_KEEP_OLD_KEYS`, so that clients can switch
        without downtime but a leaked key does not live on. Keys set to end earlier keep their end.
        """
        if not timedelta(0) <= keep_old_for <= MAX_KEEP_OLD_KEYS:
            raise InvalidField("--keep-old-for", f"must be from 0 to {MAX_KEEP_OLD_KEYS.days} days")
        api_key = new_api_key()
        now = self._clock.now()
        old_keys_until = await self._storage.rotate_api_keys(name, hash_api_key(api_key), now, now + keep_old_for)
        return NewApiKey(account_name=name, api_key=api_key, old_keys_valid_until=old_keys_until)

    async def require(self, name: str) -> Account:
        """The account of that name; `AccountNotFound` if there is none."""
        account = await self._storage.get_account(name)
        if account is None:
            raise AccountNotFound(f"no account named `{name}`")
        return account
