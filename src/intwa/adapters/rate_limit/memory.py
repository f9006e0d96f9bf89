"""Request counters in one process's memory."""

from __future__ import annotations

from datetime import datetime

from intwa.domain.rate_limits import seconds_until_next_window, window_start


class MemoryRateLimiter:
    """The `RateLimiter` port in memory: exact within one process, blind to every other one.

    Keeps one counter per account (the current window's), so memory grows with accounts, not time.
    """

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, account_name: str, limit_per_minute: int, now: datetime) -> float | None:
        window = window_start(now)
        counted_window, count = self._counts.get(account_name, (window, 0))
        count = count + 1 if counted_window == window else 1
        self._counts[account_name] = (window, count)
        return None if count <= limit_per_minute else seconds_until_next_window(now)
