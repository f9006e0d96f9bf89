"""What one worker's deliveries did, counted where it happens and read by `/metrics` when Prometheus scrapes."""

from __future__ import annotations

import bisect
from collections import Counter

from intwa.domain.callbacks.deliveries import Settlement

SETTLEMENTS = ("delivered", "retried", "failed", "disabled", "abandoned")
"""How a delivery's attempt ended: delivered (2xx); retried later; failed (schedule spent); disabled (410, the
callback turned off); abandoned (not attempted: event pruned, callback deleted or disabled)."""
ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
"""Upper bounds, in seconds, of the attempt-duration histogram."""
AGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
"""Upper bounds, in seconds, of the histogram of an event's age at its first attempt (the goal is 1.5 s)."""


class Histogram:
    """Counts per bucket (the last is +Inf) and the sum of what was observed."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value


class DeliveryMetrics:
    """Settlements by how they ended, attempt durations, and events' ages at their first attempt."""

    def __init__(self) -> None:
        self.settlements: Counter[str] = Counter()
        self.attempt_seconds = Histogram(ATTEMPT_BUCKETS)
        self.first_attempt_age_seconds = Histogram(AGE_BUCKETS)

    def settled(self, settlement: Settlement) -> None:
        self.settlements[_how(settlement)] += 1

    def attempted(self, seconds: float) -> None:
        self.attempt_seconds.observe(seconds)

    def first_attempt(self, age_seconds: float) -> None:
        self.first_attempt_age_seconds.observe(max(age_seconds, 0.0))


def _how(settlement: Settlement) -> str:
    if settlement.status == "delivered":
        return "delivered"
    if settlement.disables_callback:
        return "disabled"
    if settlement.attempted_at is None:
        return "abandoned"
    return "retried" if settlement.status == "pending" else "failed"
