"""The in-process `EventsWritten` signal: an `asyncio.Event` that a delivering loop waits on."""

from __future__ import annotations

import asyncio


class WakeUp:
    """Wakes one waiter in this process when customer events were written (the `EventsWritten` port).

    A notification with nobody waiting is kept until the next wait, which then returns at once: a write
    that commits while the waiter is busy is not missed. Notifications in between count once.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.notified = 0

    def notify(self) -> None:
        self.notified += 1
        self._event.set()

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 - a bounded wait is what polls fall back on
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        self._event.clear()
        return True
