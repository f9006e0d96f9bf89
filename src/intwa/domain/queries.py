"""Use cases that answer what a customer's numbers and WABAs look like now (SPEC §3.4, §3.5)."""

from __future__ import annotations

import asyncio
import logging

from intwa.domain import validation
from intwa.domain.errors import DomainError, StorageUnavailable, WabaNotBound
from intwa.domain.models import UNKNOWN, ListedWaba, PhoneNumber, Waba, WabaSnapshot
from intwa.domain.ports import Storage
from intwa.domain.snapshots import Snapshots

logger = logging.getLogger("intwa.queries")

REFRESH_CONCURRENCY = 4
"""How many of a list's WABAs are refreshed from the provider at once: a handful, not a burst of Graph calls."""


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
    """List every WABA bound to the account, ordered by first binding time (wabaInfo).

    The WABAs' snapshots are read together; those that need the provider are refreshed side by side, at
    most `REFRESH_CONCURRENCY` at a time, each sharing a refresh already under way. One WABA's error never
    fails the list: a WABA Meta cannot answer for is listed from its snapshot while it may be served stale,
    else with its data unknown and `accessible` as last known, and the error in `refresh_error`. The store
    being unavailable is no WABA's error: without a snapshot to serve, it fails the list (50301).
    """

    def __init__(self, storage: Storage, snapshots: Snapshots) -> None:
        self._storage = storage
        self._snapshots = snapshots

    async def __call__(self, account_name: str, *, refresh: bool = False) -> list[ListedWaba]:
        stored = await self._storage.account_snapshots(account_name)
        listed: list[ListedWaba | None] = [None if refresh else self._fresh(*item) for item in stored]
        due = [index for index, item in enumerate(listed) if item is None]
        if due:
            gate = asyncio.Semaphore(REFRESH_CONCURRENCY)
            outcomes = await asyncio.gather(
                *(self._refreshed(*stored[index], gate=gate, refresh=refresh) for index in due),
                return_exceptions=True,
            )
            for index, outcome in zip(due, outcomes, strict=True):
                if isinstance(outcome, BaseException):
                    raise outcome  # not a provider's answer (the store failed, or a bug): every refresh has ended
                listed[index] = outcome
        return [item for item in listed if item is not None]

    def _fresh(self, waba_id: str, snapshot: WabaSnapshot | None) -> ListedWaba | None:
        if self._snapshots.fresh(snapshot, waba_id):
            return ListedWaba(snapshot.waba, snapshot.accessible)
        return None

    async def _refreshed(
        self, waba_id: str, stored: WabaSnapshot | None, *, gate: asyncio.Semaphore, refresh: bool
    ) -> ListedWaba:
        try:
            if refresh:
                snapshot = (await self._snapshots.refresh(waba_id, source="request", gate=gate)).snapshot
            else:
                snapshot = await self._snapshots.settle(waba_id, stored, gate=gate)
        except StorageUnavailable:
            raise  # the store's outage, not this WABA's: the whole list is 50301
        except DomainError as error:
            logger.warning("listing WABA %s without a refresh: %s %s", waba_id, error.code, error.message)
            return _last_known(waba_id, stored, self._snapshots.servable(stored), f"{error.code} {error.message}")
        return ListedWaba(snapshot.waba, snapshot.accessible)


def _last_known(waba_id: str, stored: WabaSnapshot | None, servable: bool, error: str) -> ListedWaba:
    """A WABA whose refresh failed: its snapshot while it may be served stale, else its data unknown."""
    if stored is not None and servable:
        return ListedWaba(stored.waba, stored.accessible, refresh_error=error)
    accessible = stored.accessible if stored is not None else True
    return ListedWaba(Waba(id=waba_id, name=UNKNOWN), accessible, refresh_error=error)
