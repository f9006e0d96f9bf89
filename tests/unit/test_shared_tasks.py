"""One task per key: what the refreshes, the memory layer's reads and webhook refreshes share."""

from __future__ import annotations

import asyncio

import pytest

from intwa.domain.shared_tasks import SharedTasks


async def test_callers_of_one_key_share_one_run_and_other_keys_run_apart() -> None:
    runs: list[str] = []
    release = asyncio.Event()
    tasks: SharedTasks[str] = SharedTasks("test")

    async def work(key: str) -> str:
        runs.append(key)
        await release.wait()
        return key.upper()

    waiting = [asyncio.create_task(tasks.join(key, lambda key=key: work(key))) for key in ("a", "a", "a", "b")]
    await asyncio.sleep(0)
    release.set()

    assert await asyncio.gather(*waiting) == ["A", "A", "A", "B"]
    assert sorted(runs) == ["a", "b"]
    assert len(tasks) == 0


async def test_a_caller_that_goes_away_does_not_cancel_the_run_for_the_others() -> None:
    release = asyncio.Event()
    tasks: SharedTasks[int] = SharedTasks("test")

    async def work() -> int:
        await release.wait()
        return 7

    leaving = asyncio.create_task(tasks.join("k", work))
    staying = asyncio.create_task(tasks.join("k", work))
    await asyncio.sleep(0)
    leaving.cancel()
    release.set()

    assert await staying == 7
    with pytest.raises(asyncio.CancelledError):
        await leaving


async def test_a_forgotten_key_starts_afresh_while_the_old_run_ends_for_its_callers() -> None:
    release = asyncio.Event()
    tasks: SharedTasks[int] = SharedTasks("test")
    results = iter((1, 2))

    async def work() -> int:
        value = next(results)
        await release.wait()
        return value

    first = asyncio.create_task(tasks.join("k", work))
    await asyncio.sleep(0)
    tasks.forget("k")
    second = asyncio.create_task(tasks.join("k", work))
    await asyncio.sleep(0)
    release.set()

    assert (await first, await second) == (1, 2)


async def test_cancel_all_ends_every_run() -> None:
    tasks: SharedTasks[None] = SharedTasks("test")
    started = [tasks.start(key, lambda: asyncio.sleep(3600)) for key in ("a", "b")]

    await tasks.cancel_all()

    assert all(task.cancelled() for task in started)
    assert len(tasks) == 0
