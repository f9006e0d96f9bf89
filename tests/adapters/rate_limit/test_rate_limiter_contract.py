"""What every `RateLimiter` adapter does: fixed one-minute windows per account (SPEC §3.8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from intwa.domain.ports import RateLimiter

LIMIT = 5
MINUTE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


async def test_hits_within_the_limit_pass_and_the_next_waits_for_the_minute_to_end(limiter: RateLimiter) -> None:
    at = MINUTE + timedelta(seconds=20)

    verdicts = [await limiter.hit("IW0001", LIMIT, at) for _ in range(LIMIT + 2)]

    assert verdicts[:LIMIT] == [None] * LIMIT
    assert verdicts[LIMIT:] == [pytest.approx(40.0), pytest.approx(40.0)]


async def test_accounts_are_counted_apart(limiter: RateLimiter) -> None:
    for _ in range(LIMIT):
        await limiter.hit("IW0001", LIMIT, MINUTE)

    assert await limiter.hit("IW0001", LIMIT, MINUTE) is not None
    assert await limiter.hit("IW0002", LIMIT, MINUTE) is None


async def test_a_new_minute_counts_from_zero(limiter: RateLimiter) -> None:
    for _ in range(LIMIT + 1):
        await limiter.hit("IW0001", LIMIT, MINUTE + timedelta(seconds=59))

    next_minute = [await limiter.hit("IW0001", LIMIT, MINUTE + timedelta(seconds=60)) for _ in range(LIMIT)]

    assert next_minute == [None] * LIMIT
