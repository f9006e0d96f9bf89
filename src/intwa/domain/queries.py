"""Use cases that answer what a customer's numbers and WABAs look like now (SPEC §3.4, §3.5)."""

from __future__ import annotations

import asyncio

from intwa.domain import validation
from intwa.domain.errors import WabaNotBound
from intwa.domain.models import PhoneNumber, Waba
from intwa.domain.ports import Storage
from intwa.domain.snapshots import Snapshots


class ListPhoneNumbers:
    """List the phone numbers of a WABA bound to the account, in the provider's order (phoneInfo)."""

    def __init__(self, storage: Storage, snapshots: Snapshots) -> None:
        self._storage = storage
        self._snapshots = snapshots

    async def __call__(self, account_name: str, waba_id: str, *, refresh: bool = False) -> list[PhoneNumber]:
        validation.meta_id(waba_id, "wabaId")
        # One answer for unknown WABAs and other accounts' WABAs, so ids cannot be probed.
        if await self._storage.waba_owner(waba_id) != account_name:
            raise WabaNotBound(f"WABA `{waba_id}` is not bound to account `{account_name}`")
        snapshot = await self._snapshots.current(waba_id, refresh=refresh)
        return list(snapshot.phone_numbers)


class ListWabas:
    """List every WABA bound to the account, ordered by first binding time (wabaInfo)."""

    def __init__(self, storage: Storage, snapshots: Snapshots) -> None:
        self._storage = storage
        self._snapshots = snapshots

    async def __call__(self, account_name: str, *, refresh: bool = False) -> list[Waba]:
        waba_ids = await self._storage.account_waba_ids(account_name)
        snapshots = [None if refresh else await self._snapshots.stored_if_fresh(waba_id) for waba_id in waba_ids]
        due = [index for index, snapshot in enumerate(snapshots) if snapshot is None]
        if due:
            # Only the WABAs that need the provider are refreshed, and those side by side.
            refreshed = await asyncio.gather(*(self._snapshots.current(waba_ids[i], refresh=refresh) for i in due))
            for index, snapshot in zip(due, refreshed, strict=True):
                snapshots[index] = snapshot
        return [snapshot.waba for snapshot in snapshots if snapshot is not None]
