"""Deliveries of customer events to callbacks: what a claim hands the dispatcher, and how an attempt settles.

The rules of SPEC §3.10 live here once: 2xx delivers; 410 disables the callback and the delivery fails;
anything else is tried again after the next step of `events.retry_schedule` (± 10%), or after the receiver's
`Retry-After` on a 429 or 503, until the schedule is spent and the delivery fails.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import msgspec

from intwa.domain.callbacks.models import Callback, DeliveryOutcome, DeliveryStatus

JITTER = 0.1
"""Each retry's delay is the schedule's ± this fraction, so receivers that failed together do not retry together."""

CALLBACK_GONE = "the callback was deleted"
CALLBACK_DISABLED = "the callback is disabled: its receiver answered 410 Gone"


class ClaimedDelivery(msgspec.Struct, frozen=True):
    """A delivery a worker has claimed until `locked_until`, with what its attempt needs.

    `document` is the event's stored JSON and `event_created_at` when it was written (both None when it was
    pruned); `callback` the account's callback now (None when it was deleted).
    """

    delivery_id: int
    event_id: str
    account_name: str
    attempts: int
    document: bytes | None
    event_created_at: datetime | None
    callback: Callback | None


class Settlement(msgspec.Struct, frozen=True):
    """How a delivery stands after an attempt: stored in place of its row, its lease released.

    `attempted_at` None: nothing was sent (the delivery was abandoned), its last attempt stays as it was.

    `disables_callback`: the receiver answered 410; the callback is disabled, and the account's other pending
    deliveries end `failed` with it (they have nowhere to go until the callback is set again).
    """

    delivery_id: int
    account_name: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    attempted_at: datetime | None
    last_status: int | None
    last_error: str | None
    disables_callback: bool = False


class DeliveryRecord(msgspec.Struct, frozen=True):
    """A delivery as an operator sees it (`intwa deliveries`); `type` None when its event was pruned."""

    event_id: str
    account_name: str
    type: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    created_at: datetime


class DeliveryStore(Protocol):
    """The deliveries table, the outbox's work list, as the dispatcher and operators use it."""

    async def claim(
        self, now: datetime, lease_until: datetime, *, per_account: int, limit: int
    ) -> list[ClaimedDelivery]:
        """Claim at most `limit` due deliveries until `lease_until`, so that no other worker attempts them.

        Due: pending, `next_attempt_at <= now`, not leased (or the lease ran out). Only each account's
        `per_account` oldest pending deliveries are claimable, leased ones included: at most that many of an
        account's deliveries are in flight, over every worker and instance, and they go out in event order.
        """
        ...

    async def settle(self, settlement: Settlement) -> None:
        """Store how the attempt went and release the lease (with a 410, disable the callback too)."""
        ...

    async def count_pending(self) -> int:
        """How many deliveries wait (for `/metrics`)."""
        ...

    async def list_deliveries(self, account_name: str | None, status: DeliveryStatus | None) -> list[DeliveryRecord]:
        """The deliveries, oldest first, of one account and one status, or all."""
        ...

    async def redeliver_event(self, event_id: str, now: datetime) -> bool:
        """Make the event's delivery pending again, due now, its attempts reset; False if it has none."""
        ...

    async def redeliver_failed(self, account_name: str, now: datetime) -> int:
        """Make every failed delivery of the account pending again, due now; how many."""
        ...


def retry_delay(
    schedule: Sequence[float], attempts: int, outcome: DeliveryOutcome, spread: Callable[[], float]
) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones, None when the schedule is spent.

    `spread()` gives a factor within ± `JITTER` of 1. A receiver's `Retry-After` (already bounded by the
    sender) takes the place of the schedule's step, but never adds an attempt.
    """
    if attempts > len(schedule):
        return None
    if outcome.retry_after_seconds is not None:
        return outcome.retry_after_seconds
    return schedule[attempts - 1] * spread()


def uniform_spread() -> float:
    return random.uniform(1 - JITTER, 1 + JITTER)


def settled(
    claimed: ClaimedDelivery,
    outcome: DeliveryOutcome,
    now: datetime,
    schedule: Sequence[float],
    spread: Callable[[], float] = uniform_spread,
) -> Settlement:
    """How the attempt's outcome leaves the delivery (SPEC §3.10)."""
    attempts = claimed.attempts + 1

    def ends(status: DeliveryStatus, *, disables: bool = False, after: float = 0.0) -> Settlement:
        return Settlement(
            delivery_id=claimed.delivery_id,
            account_name=claimed.account_name,
            status=status,
            attempts=attempts,
            next_attempt_at=now + timedelta(seconds=after),
            attempted_at=now,
            last_status=outcome.status,
            last_error=outcome.error,
            disables_callback=disables,
        )

    if outcome.delivered:
        return ends("delivered")
    if outcome.result == "gone":
        return ends("failed", disables=True)
    delay = retry_delay(schedule, attempts, outcome, spread)
    return ends("failed") if delay is None else ends("pending", after=delay)


def abandoned(claimed: ClaimedDelivery, error: str, now: datetime) -> Settlement:
    """A delivery that cannot be attempted (its event pruned, its callback deleted or disabled) ends `failed`."""
    return Settlement(
        delivery_id=claimed.delivery_id,
        account_name=claimed.account_name,
        status="failed",
        attempts=claimed.attempts,
        next_attempt_at=now,
        attempted_at=None,
        last_status=None,
        last_error=error,
    )
