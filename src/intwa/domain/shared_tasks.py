"""One task per key, shared by everyone who asks for that key while it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SharedTasks(Generic[T]):
    """At most one task per key: whoever asks for a key while its task runs gets that task.

    Used wherever concurrent callers need the same slow thing once: a WABA's refresh, a read of the store,
    the refreshes that webhooks ask for. The tasks are referenced here until they end (the event loop
    keeps only weak references); `join` shields the task, so a caller that goes away does not cancel it
    for the others; and the exception of a task nobody awaited any more is retrieved, not reported.
    """

    __slots__ = ("_name", "_tasks")

    def __init__(self, name: str) -> None:
        self._name = name
        self._tasks: dict[str, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def __contains__(self, key: str) -> bool:
        return key in self._tasks

    def start(self, key: str, work: Callable[[], Coroutine[Any, Any, T]]) -> asyncio.Task[T]:
        """The key's task, started from `work()` when it has none."""
        task = self._tasks.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(work(), name=f"{self._name} {key}")
            self._tasks[key] = task
            task.add_done_callback(partial(self._forget_done, key))
        return task

    async def join(self, key: str, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """The result of the key's task, started from `work()` when it has none; waiting does not own it."""
        return await asyncio.shield(self.start(key, work))

    def is_current(self, key: str, task: asyncio.Task[Any] | None) -> bool:
        """Whether `task` is still the one that callers asking for `key` get."""
        return self._tasks.get(key) is task

    def forget(self, key: str) -> None:
        """Later callers get a task of their own; one under way runs on for those who have it."""
        self._tasks.pop(key, None)

    def forget_all(self) -> None:
        """`forget` every key."""
        self._tasks.clear()

    async def wait_all(self) -> None:
        """Wait until every task, and any started meanwhile, has ended."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def cancel_all(self) -> None:
        """Cancel every task (at shutdown) and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _forget_done(self, key: str, task: asyncio.Task[T]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        if not task.cancelled():
            task.exception()
