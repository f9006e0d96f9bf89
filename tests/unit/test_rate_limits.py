"""The per-account request limit over the in-memory counters (SPEC §3.8 `42900`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intwa.adapters.rate_limit.memory import MemoryRateLimiter
from intwa.domain.errors import RateLimited
from intwa.domain.rate_limits import LimitRequests, seconds_until_next_window, window_start
from tests.fakes.clock import FakeClock

LIMIT = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 27, 9, 0, 15, tzinfo=UTC))  # 15 s into a minute


@pytest.fixture
def limit_requests(clock: FakeClock) -> LimitRequests:
    return LimitRequests(MemoryRateLimiter(), clock, limit_per_minute=LIMIT)


async def test_the_request_after_the_limit_is_refused_until_the_minute_ends(
    limit_requests: LimitRequests, clock: FakeClock
) -> None:
    for _ in range(LIMIT):
        await limit_requests("IW0001")

    with pytest.raises(RateLimited) as refused:
        await limit_requests("IW0001")

    assert refused.value.code == 42900
    assert refused.value.retry_after_seconds == 45
    assert f"more than {LIMIT} requests" in refused.value.message


async def test_retry_after_is_whole_seconds_and_never_zero(limit_requests: LimitRequests, clock: FakeClock) -> None:
    clock.advance(44.5)  # 0.5 s before the minute ends
    for _ in range(LIMIT):
        await limit_requests("IW0001")

    with pytest.raises(RateLimited) as refused:
        await limit_requests("IW0001")

    assert refused.value.retry_after_seconds == 1


async def test_the_next_minute_starts_from_zero(limit_requests: LimitRequests, clock: FakeClock) -> None:
    for _ in range(LIMIT):
        await limit_requests("IW0001")
    with pytest.raises(RateLimited):
        await limit_requests("IW0001")

    clock.advance(45)  # 09:01:00, a new window
    for _ in range(LIMIT):
        await limit_requests("IW0001")
    with pytest.raises(RateLimited) as refused:
        await limit_requests("IW0001")

    assert refused.value.retry_after_seconds == 60


async def test_each_account_has_its_own_count(limit_requests: LimitRequests) -> None:
    for _ in range(LIMIT):
        await limit_requests("IW0001")
    with pytest.raises(RateLimited):
        await limit_requests("IW0001")

    for _ in range(LIMIT):
        await limit_requests("IW0002")


async def test_a_limit_of_zero_counts_nothing_and_needs_no_limiter(clock: FakeClock) -> None:
    unlimited = LimitRequests(None, clock, limit_per_minute=0)

    for _ in range(1000):
        await unlimited("IW0001")


async def test_a_limit_of_zero_never_asks_the_limiter(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter()

    await LimitRequests(limiter, clock, limit_per_minute=0)("IW0001")

    assert await limiter.hit("IW0001", 1, clock.now()) is None  # its first hit: nothing was counted before


def test_a_limit_without_a_limiter_or_below_zero_is_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="needs a rate limiter"):
        LimitRequests(None, clock, limit_per_minute=10)
    with pytest.raises(ValueError, match="0 \\(off\\) or positive"):
        LimitRequests(MemoryRateLimiter(), clock, limit_per_minute=-1)


def test_windows_are_fixed_minutes_of_the_epoch() -> None:
    moment = datetime(2026, 11, 27, 9, 0, 59, 500000, tzinfo=UTC)

    assert window_start(moment) == int(datetime(2026, 11, 27, 9, 0, tzinfo=UTC).timestamp())
    assert window_start(moment) % 60 == 0
    assert seconds_until_next_window(moment) == pytest.approx(0.5)
    assert seconds_until_next_window(datetime(2026, 11, 27, 9, 1, tzinfo=UTC)) == 60
