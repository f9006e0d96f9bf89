"""Refreshing every bound WABA: now for an operator, or spread over time by the server (SPEC §3.7, §4 `sync`)."""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import msgspec

from intwa.domain.errors import AccountNotFound, DomainError, StorageUnavailable, WabaNotAccessible
from intwa.domain.ports import Clock, Storage
from intwa.domain.snapshots import Refreshed, Snapshots

logger = logging.getLogger("intwa.sync")

SYNC_CONCURRENCY = 4
"""How many WABAs an operator's sync refreshes at once: quick, without a burst of Graph calls."""


class SyncFailure(msgspec.Struct, frozen=True):
    """Why a WABA's refresh failed: the domain error's API code and message."""

    code: int
    message: str


class SyncOutcome(msgspec.Struct, frozen=True):
    """What refreshing one WABA did: how many changes it recorded, or why it failed."""

    waba_id: str
    changes: int = 0
    error: SyncFailure | None = None


class SyncReport(msgspec.Struct, frozen=True):
    """The result of a sync; `outcomes` are in the order of the WABAs' first binding."""

    refreshed: int
    changed: int
    failed: int
    outcomes: list[SyncOutcome]


class SyncWabas:
    """Refresh every bound WABA now, of one account or of all, recording what changed with source `sync`.

    A WABA whose refresh fails is reported and the others go on: one WABA that Meta no longer shares
    must not keep an operator from refreshing the rest. Such a WABA is reported with `WabaNotAccessible`,
    and stored with `accessible` False.
    """

    def __init__(self, storage: Storage, snapshots: Snapshots, *, concurrency: int = SYNC_CONCURRENCY) -> None:
        self._storage = storage
        self._snapshots = snapshots
        self._concurrency = concurrency

    async def __call__(
        self,
        account_name: str | None = None,
        *,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[SyncOutcome], None] | None = None,
    ) -> SyncReport:
        """The report of refreshing the WABAs; `AccountNotFound` for an unknown account.

        `on_start` hears how many WABAs will be refreshed, `on_progress` each outcome as it comes.
        """
        waba_ids = await self._waba_ids(account_name)
        if on_start is not None:
            on_start(len(waba_ids))
        slots = asyncio.Semaphore(self._concurrency)

        async def refresh(waba_id: str) -> SyncOutcome:
            async with slots:
                outcome = await self._refresh(waba_id)
            if on_progress is not None:
                on_progress(outcome)
            return outcome

        outcomes = await _gather_all_or_none([refresh(waba_id) for waba_id in waba_ids])
        failed = sum(outcome.error is not None for outcome in outcomes)
        return SyncReport(
            refreshed=len(outcomes) - failed,
            changed=sum(outcome.changes > 0 for outcome in outcomes),
            failed=failed,
            outcomes=outcomes,
        )

    async def _waba_ids(self, account_name: str | None) -> list[str]:
        if account_name is None:
            return await self._storage.all_bound_waba_ids()
        if await self._storage.get_account(account_name) is None:
            raise AccountNotFound(f"no account named `{account_name}`")
        return await self._storage.account_waba_ids(account_name)

    async def _refresh(self, waba_id: str) -> SyncOutcome:
        try:
            refreshed = await self._snapshots.refresh(waba_id, source="sync")
        except StorageUnavailable:
            raise  # every other WABA would fail the same way: the sync stops with it
        except DomainError as error:
            return SyncOutcome(waba_id, error=SyncFailure(error.code, error.message))
        if not refreshed.snapshot.accessible:
            gone = _not_accessible(waba_id, refreshed)
            return SyncOutcome(waba_id, changes=len(refreshed.changes), error=SyncFailure(gone.code, gone.message))
        return SyncOutcome(waba_id, changes=len(refreshed.changes))


def _not_accessible(waba_id: str, refreshed: Refreshed) -> WabaNotAccessible:
    """The error of a WABA that a refresh found gone or unshared: Meta's message, when this refresh heard it."""
    message = refreshed.not_accessible or f"WABA `{waba_id}` does not exist or is no longer shared with the platform"
    return WabaNotAccessible(message)


async def _gather_all_or_none(coroutines: list[Awaitable[SyncOutcome]]) -> list[SyncOutcome]:
    """Every result in order; on an unexpected error the other refreshes are cancelled, not left running."""
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class BackgroundSync:
    """The server's loop that refreshes every bound WABA once per `interval_seconds`, spread over it.

    In a round the WABAs are refreshed one at a time, `interval / n` seconds apart, so Meta sees a steady
    trickle instead of a burst. A WABA is skipped when its snapshot is younger than half the interval
    (another worker process, or a customer's request, refreshed it: workers share the store, and this
    keeps them from multiplying Meta calls), while Meta reports it at 90% of its rate limit or more
    (`Snapshots.refreshes_paused`), and while another loop (`holder`: another worker or instance on the same store)
    has claimed it for this interval: instances share the work instead of each refreshing every WABA.
    Provider errors are logged and the loop goes on; only `stop()` ends it. While the store is unavailable
    the round ends and starts again after the store's retry time, logging nothing (the store logs its outage
    once). An interval of 0 turns it off. `rounds`, `refreshes`, `failures` and `skips` count what it did.
    """

    def __init__(
        self,
        snapshots: Snapshots,
        storage: Storage,
        clock: Clock,
        *,
        interval_seconds: float,
        holder: str | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._snapshots = snapshots
        self._storage = storage
        self._clock = clock
        self._interval = max(interval_seconds, 0.0)
        self.holder = holder or uuid.uuid4().hex
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        self.refreshes = 0
        self.failures = 0
        self.skips = 0

    @property
    def enabled(self) -> bool:
        return self._interval > 0

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop in the running event loop; nothing when turned off or started already."""
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="intwa background sync")

    async def stop(self) -> None:
        """Cancel the loop and wait until it has ended; safe to call when it never started."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        # `wait` does not raise the task's CancelledError, so a cancellation of `stop` itself still propagates.
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            logger.error("background sync ended with an error", exc_info=task.exception())

    async def run_round(self) -> None:
        """One round: every bound WABA that is due, `interval / n` seconds apart."""
        waba_ids = await self._storage.all_bound_waba_ids()
        if not waba_ids:
            await self._sleep(self._interval)
        pause = self._interval / max(len(waba_ids), 1)
        for waba_id in waba_ids:
            await self._sleep(pause)
            await self._refresh_if_due(waba_id)
        self.rounds += 1

    async def _run(self) -> None:
        # Workers start together; a random offset keeps them from asking for the same WABA at the same moment.
        await self._sleep(random.uniform(0, self._interval / 2))
        while True:
            try:
                await self.run_round()
            except StorageUnavailable as error:
                # Logged once per outage by the store; the round starts again once the store may answer.
                await self._sleep(min(self._interval, error.retry_after_seconds))
            except Exception:
                # A bug: logged, and the next round tries again after a pause.
                logger.exception("background sync round failed")
                await self._sleep(self._interval)

    async def _refresh_if_due(self, waba_id: str) -> None:
        now = self._clock.now()
        young = now - timedelta(seconds=self._interval / 2)
        snapshot = await self._storage.get_snapshot(waba_id)
        if snapshot is not None and snapshot.fetched_at > young:
            self.skips += 1
            return
        if self._snapshots.refreshes_paused(waba_id, now):
            self.skips += 1
            logger.info("background sync skips WABA %s: paused by Meta's rate limit or a failed refresh", waba_id)
            return
        until = now + timedelta(seconds=self._interval)
        if not await self._storage.claim_for_sync(waba_id, self.holder, until, now):
            self.skips += 1
            logger.debug("background sync skips WABA %s: another instance claimed it for this interval", waba_id)
            return
        try:
            refreshed = await self._snapshots.refresh(waba_id, source="sync", fresh_after=young)
        except StorageUnavailable:
            raise  # not this WABA's failure: the round ends
        except DomainError as error:
            self.failures += 1
            logger.warning("background sync of WABA %s failed: error %s: %s", waba_id, error.code, error.message)
            return
        if not refreshed.snapshot.accessible:
            self.failures += 1
            gone = _not_accessible(waba_id, refreshed)
            logger.warning("background sync of WABA %s failed: error %s: %s", waba_id, gone.code, gone.message)
            return
        self.refreshes += 1
        if refreshed.changes:
            logger.info("background sync of WABA %s recorded %d change(s)", waba_id, len(refreshed.changes))
