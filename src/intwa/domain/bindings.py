"""Use cases for binding a WABA's phone number to an account, and for releasing it."""

from __future__ import annotations

import asyncio

from intwa.domain import validation
from intwa.domain.binding_conflicts import check_binding_conflicts, phone_number_not_in_waba
from intwa.domain.errors import PhoneNumberMismatch
from intwa.domain.models import Binding, ChangeSource
from intwa.domain.ports import Clock, MetaProvider, Storage
from intwa.domain.snapshots import Snapshots


class BindPhoneNumber:
    """Bind a WABA and one of its phone numbers to an account, after checking both with Meta (SPEC §3.3)."""

    def __init__(self, storage: Storage, provider: MetaProvider, snapshots: Snapshots, clock: Clock) -> None:
        self._storage = storage
        self._provider = provider
        self._snapshots = snapshots
        self._clock = clock

    async def __call__(
        self,
        account_name: str,
        waba_id: str,
        phone_number_id: str,
        phone_number: str | None = None,
        *,
        source: ChangeSource = "bind",
    ) -> Binding:
        """The stored binding. Binding the same phone number to the same account again changes nothing.

        `source` is what the history and the customer events say brought it: `bind` for a customer's,
        `operator` for an operator's.
        """
        validation.meta_id(waba_id, "wabaId")
        validation.meta_id(phone_number_id, "phoneNumberId")
        digits = None if phone_number is None else validation.phone_number(phone_number)

        existing = await self._check_not_bound_elsewhere(account_name, waba_id, phone_number_id)
        if existing is not None and digits in (None, existing.phone_number):
            return existing

        snapshot = await self._snapshots.fetch_from_provider(waba_id)
        phone = snapshot.phone_number(phone_number_id)
        if phone is None:
            raise phone_number_not_in_waba(waba_id, phone_number_id)
        display_digits = validation.display_number_digits(phone.display_phone_number)
        if digits is not None and digits != display_digits:
            raise PhoneNumberMismatch(
                f"`phoneNumber` {digits} does not match the display phone number of `{phone_number_id}`"
            )
        if await self._storage.waba_owner(waba_id) is None:
            await self._provider.subscribe_app(waba_id)
        binding = Binding(
            account_name=account_name,
            waba_id=waba_id,
            phone_number_id=phone_number_id,
            phone_number=digits or display_digits,
            bound_at=self._clock.now(),
        )
        return await self._storage.add_binding(binding, snapshot, source=source)

    async def _check_not_bound_elsewhere(self, account_name: str, waba_id: str, phone_number_id: str) -> Binding | None:
        """Refuse early, before asking Meta, what the store would refuse anyway; the existing binding if any."""
        # Both read side by side (one wait for the store instead of two); the rule decides between them.
        existing, owner = await asyncio.gather(
            self._storage.find_binding(phone_number_id), self._storage.waba_owner(waba_id)
        )
        return check_binding_conflicts(account_name, waba_id, phone_number_id, phone_binding=existing, waba_owner=owner)


class UnbindPhoneNumber:
    """Remove an account's binding of a phone number; the WABA is released with its last one (SPEC §3.6).

    Its `binding.removed` event says what brought it: `request` for a customer's unbind, `operator` for an
    operator's.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def __call__(
        self, account_name: str, waba_id: str, phone_number_id: str, *, source: ChangeSource = "request"
    ) -> Binding:
        validation.meta_id(waba_id, "wabaId")
        validation.meta_id(phone_number_id, "phoneNumberId")
        return await self._storage.remove_binding(account_name, waba_id, phone_number_id, source=source)


class ListBindings:
    """Bindings of one account, or of all accounts (operators)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def __call__(self, account_name: str | None = None) -> list[Binding]:
        return await self._storage.list_bindings(account_name)
