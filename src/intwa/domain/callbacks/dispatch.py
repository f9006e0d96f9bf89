"""The dispatcher: every `serve` worker delivers the outbox's pending deliveries to the callbacks (SPEC §3.10).

Each worker claims due deliveries under a lease, so each is attempted by one worker or instance at a time;
only each account's `max_in_flight` oldest pending deliveries can be claimed, so one URL gets its events in
order, a few at a time, and a slow or failing URL holds only its own account's window: every attempt runs
on its own, and the claims go on for the other accounts. A worker whose attempt never settles (killed,
stopped) leaves its lease to run out, and whichever worker claims next attempts the delivery again.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta

from intwa.domain.callbacks.deliveries import (
    CALLBACK_DISABLED,
    CALLBACK_GONE,
    ClaimedDelivery,
    DeliveryStore,
    Settlement,
    abandoned,
    settled,
)
from intwa.domain.callbacks.delivery_metrics import DeliveryMetrics
from intwa.domain.errors import StorageUnavailable
from intwa.domain.ports import CallbackSender, Clock, EventsWritten

logger = logging.getLogger("intwa.deliveries")

EVENT_EXPIRED = "the event was pruned before it could be delivered"
POLL_SECONDS = 5.0
"""How often an idle worker looks for deliveries that another process wrote or that became due."""
LEASE_MARGIN_SECONDS = 10.0
"""A claim's lease outlasts the attempt's timeout by this much, so it never runs out while the attempt runs."""
MAX_IN_FLIGHT_PER_WORKER = 100
"""Attempts one worker has under way at once, over every URL (the sender's connection pool is as large)."""


class DispatchDeliveries:
    """Deliver pending deliveries, claimed under a lease, as long as the server runs."""

    def __init__(
        self,
        store: DeliveryStore,
        sender: CallbackSender,
        clock: Clock,
        events_written: EventsWritten,
        *,
        timeout_seconds: float,
        retry_schedule: Sequence[float],
        max_in_flight: int,
        capacity: int = MAX_IN_FLIGHT_PER_WORKER,
        poll_seconds: float = POLL_SECONDS,
        metrics: DeliveryMetrics | None = None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock
        self._events_written = events_written
        self._lease = timedelta(seconds=timeout_seconds + LEASE_MARGIN_SECONDS)
        self._schedule = tuple(retry_schedule)
        self._per_account = max_in_flight
        self._capacity = capacity
        self._poll = poll_seconds
        self.metrics = metrics or DeliveryMetrics()
        self._wake = asyncio.Event()
        self._retries_due: list[datetime] = []  # a heap: when retries settled here come due
        self._attempts: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start delivering in the running event loop; nothing if started already."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="intwa deliveries")

    async def stop(self) -> None:
        """Stop claiming and cancel the attempts under way; their leases run out and another worker retakes them."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and task.exception() is not None:
                logger.error("deliveries ended with an error", exc_info=task.exception())
        attempts, self._attempts = self._attempts, set()
        for attempt in attempts:
            attempt.cancel()
        if attempts:
            await asyncio.wait(attempts)

    async def deliver_due(self) -> int:
        """Claim what is due now, as much as this worker has room for, and start its attempts; how many."""
        free = self._capacity - len(self._attempts)
        if free <= 0:
            return 0
        now = self._clock.now()
        while self._retries_due and self._retries_due[0] <= now:
            heapq.heappop(self._retries_due)
        claimed = await self._store.claim(now, now + self._lease, per_account=self._per_account, limit=free)
        for delivery in claimed:
            attempt = asyncio.get_running_loop().create_task(self._attempt(delivery), name="intwa delivery")
            self._attempts.add(attempt)
            attempt.add_done_callback(self._attempt_ended)
        return len(claimed)

    async def settle_all(self) -> None:
        """Wait for the attempts under way to settle (for tests and benchmarks)."""
        while self._attempts:
            await asyncio.wait(set(self._attempts))

    async def _run(self) -> None:
        listener = asyncio.get_running_loop().create_task(self._listen(), name="intwa deliveries wake-up")
        try:
            while True:
                try:
                    free = self._capacity - len(self._attempts)
                    if free > 0 and await self.deliver_due() == free:
                        continue  # a full claim: more may be due at once
                except StorageUnavailable as error:
                    # Logged once per outage by the store; claims start again once the store may answer.
                    await asyncio.sleep(min(self._poll, error.retry_after_seconds))
                    continue
                except Exception:
                    logger.exception("claiming deliveries failed")
                    await asyncio.sleep(self._poll)
                    continue
                await self._idle()
        finally:
            listener.cancel()
            await asyncio.wait({listener})

    async def _idle(self) -> None:
        """Until events are written here, an attempt ends, a retry settled here comes due, or the poll's time."""
        timeout = self._poll
        if self._retries_due:
            timeout = min(timeout, max((self._retries_due[0] - self._clock.now()).total_seconds(), 0.0))
        try:
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()

    async def _listen(self) -> None:
        while True:
            if await self._events_written.wait(3600.0):
                self._wake.set()

    def _attempt_ended(self, attempt: asyncio.Task[None]) -> None:
        self._attempts.discard(attempt)
        self._wake.set()  # its account's window has room again, and so has this worker
        if not attempt.cancelled() and attempt.exception() is not None:
            logger.error("a delivery attempt failed", exc_info=attempt.exception())

    async def _attempt(self, delivery: ClaimedDelivery) -> None:
        settlement = await self._try(delivery)
        try:
            await self._store.settle(settlement)
        except StorageUnavailable:
            # Its lease runs out and the delivery is attempted again: at least once, maybe twice.
            return
        self.metrics.settled(settlement)
        if settlement.status == "pending":
            heapq.heappush(self._retries_due, settlement.next_attempt_at)
            if len(self._retries_due) > 4 * self._capacity:  # the poll finds the rest
                self._retries_due = heapq.nsmallest(self._capacity, self._retries_due)

    async def _try(self, delivery: ClaimedDelivery) -> Settlement:
        now = self._clock.now()
        callback = delivery.callback
        if delivery.document is None:
            return abandoned(delivery, EVENT_EXPIRED, now)
        if callback is None:
            return abandoned(delivery, CALLBACK_GONE, now)
        if not callback.enabled:
            return abandoned(delivery, CALLBACK_DISABLED, now)
        if delivery.attempts == 0 and delivery.event_created_at is not None:
            self.metrics.first_attempt((now - delivery.event_created_at).total_seconds())
        started = time.perf_counter()
        outcome = await self._sender.send(
            callback.url, delivery.event_id, delivery.document, callback.signing_secrets(now)
        )
        self.metrics.attempted(time.perf_counter() - started)
        if not outcome.delivered:
            logger.info(
                "delivery of event %s to account %s's callback: %s",
                delivery.event_id,
                delivery.account_name,
                outcome.error,
            )
        return settled(delivery, outcome, self._clock.now(), self._schedule)
