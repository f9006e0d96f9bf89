"""The per-account request limit (SPEC §3.8 `42900`, §5 `server.rate_limit_per_minute`).

Requests are counted in fixed one-minute windows of the epoch (`floor(epoch / 60)`), one counter per
account and window, shared by every process through the `RateLimiter` port. A fixed window needs one
counter per account and a single atomic increment per request; its known cost is at the boundary: an
account may send `limit` requests at the end of one window and `limit` more at the start of the next,
so up to twice the limit within a few seconds.
"""

from __future__ import annotations

import math
from datetime import datetime

from intwa.domain.errors import RateLimited
from intwa.domain.ports import Clock, RateLimiter

WINDOW_SECONDS = 60


def window_start(now: datetime) -> int:
    """The epoch second at which the one-minute window holding `now` began: what counters are keyed by."""
    return math.floor(now.timestamp() / WINDOW_SECONDS) * WINDOW_SECONDS


def seconds_until_next_window(now: datetime) -> float:
    """How long until the window holding `now` ends and the account's count starts again from zero."""
    return window_start(now) + WINDOW_SECONDS - now.timestamp()


class LimitRequests:
    """Count one request of an authenticated account and refuse it when the account is over its limit.

    With a limit of 0 nothing is counted and no limiter is needed (`limiter` may then be None), so an
    unlimited deployment pays nothing for the feature.
    """

    def __init__(self, limiter: RateLimiter | None, clock: Clock, limit_per_minute: int) -> None:
        if limit_per_minute < 0:
            raise ValueError(f"the rate limit must be 0 (off) or positive, not {limit_per_minute}")
        if limit_per_minute and limiter is None:
            raise ValueError("a rate limit needs a rate limiter to count requests")
        self._limiter = limiter
        self._clock = clock
        self._limit = limit_per_minute

    @property
    def enabled(self) -> bool:
        """Whether requests are counted at all (a limit above 0)."""
        return bool(self._limit)

    async def __call__(self, account_name: str) -> None:
        """Count the request; `RateLimited`, with whole seconds until the next window, when over the limit."""
        if not self._limit or self._limiter is None:
            return
        retry_after = await self._limiter.hit(account_name, self._limit, self._clock.now())
        if retry_after is not None:
            seconds = max(1, math.ceil(retry_after))
            raise RateLimited(
                f"account `{account_name}` sent more than {self._limit} requests this minute; retry in {seconds} s",
                retry_after_seconds=seconds,
            )
