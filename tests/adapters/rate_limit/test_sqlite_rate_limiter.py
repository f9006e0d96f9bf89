"""The SQLite rate limiter: one counter file shared by the workers of one `intwa serve`."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intwa.adapters.rate_limit.sqlite import SqliteRateLimiter, rate_limit_path
from intwa.adapters.storage.outage import StorageOutage
from intwa.domain.rate_limits import window_start
from tests.adapters.rate_limit.conftest import open_rate_limiter

MINUTE = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _windows(database: Path) -> list[tuple[str, int, int]]:
    with sqlite3.connect(rate_limit_path(str(database))) as connection:
        return connection.execute(
            "SELECT account_name, window_start, count FROM rate_limit_windows ORDER BY window_start"
        ).fetchall()


async def test_two_workers_on_one_file_admit_exactly_the_limit_between_them(tmp_path: Path) -> None:
    database = tmp_path / "intwa.db"
    limit = 50
    async with open_rate_limiter(str(database)) as first, open_rate_limiter(str(database)) as second:
        workers: tuple[SqliteRateLimiter, SqliteRateLimiter] = (first, second)

        verdicts = await asyncio.gather(*(workers[n % 2].hit("IW0001", limit, MINUTE) for n in range(2 * limit)))

    assert verdicts.count(None) == limit
    assert _windows(database) == [("IW0001", window_start(MINUTE), 2 * limit)]


async def test_concurrent_hits_of_several_accounts_share_writes_and_are_each_counted_once(tmp_path: Path) -> None:
    database = tmp_path / "intwa.db"
    accounts = [f"IW{n:04d}" for n in range(5)]
    async with open_rate_limiter(str(database)) as limiter:
        verdicts = await asyncio.gather(*(limiter.hit(name, 10, MINUTE) for _ in range(15) for name in accounts))

    assert verdicts.count(None) == 5 * 10
    assert sorted(_windows(database)) == [(name, window_start(MINUTE), 15) for name in accounts]


async def test_a_cancelled_request_is_still_counted_and_leaves_the_others_their_answers(tmp_path: Path) -> None:
    database = tmp_path / "intwa.db"
    async with open_rate_limiter(str(database)) as limiter:
        first = asyncio.ensure_future(limiter.hit("IW0001", 2, MINUTE))
        cancelled = asyncio.ensure_future(limiter.hit("IW0001", 2, MINUTE))
        last = asyncio.ensure_future(limiter.hit("IW0001", 2, MINUTE))
        await asyncio.sleep(0)
        cancelled.cancel()

        assert await first is None
        assert await last == 60.0  # the third hit of a limit of 2
    assert _windows(database) == [("IW0001", window_start(MINUTE), 3)]


async def test_counters_live_in_their_own_file_next_to_the_database(tmp_path: Path) -> None:
    database = tmp_path / "var" / "intwa.db"

    async with open_rate_limiter(str(database)) as limiter:
        await limiter.hit("IW0001", 10, MINUTE)

    assert rate_limit_path(str(database)) == str(tmp_path / "var" / "intwa.db-ratelimit.db")
    assert (tmp_path / "var" / "intwa.db-ratelimit.db").exists()
    assert not database.exists()  # the main database is neither opened nor created
    with sqlite3.connect(rate_limit_path(str(database))) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_windows_older_than_the_previous_one_are_forgotten(tmp_path: Path) -> None:
    database = tmp_path / "intwa.db"
    async with open_rate_limiter(str(database)) as limiter:
        for minutes in (0, 1, 2):
            await limiter.hit("IW0001", 10, MINUTE + timedelta(minutes=minutes))
            await limiter.hit("IW0002", 10, MINUTE + timedelta(minutes=minutes))

    kept = {start for _, start, _ in _windows(database)}
    assert kept == {window_start(MINUTE + timedelta(minutes=1)), window_start(MINUTE + timedelta(minutes=2))}


async def test_counts_survive_reopening_so_a_restarted_worker_keeps_the_minutes_count(tmp_path: Path) -> None:
    database = tmp_path / "intwa.db"
    async with open_rate_limiter(str(database)) as limiter:
        for _ in range(3):
            await limiter.hit("IW0001", 3, MINUTE)

    async with open_rate_limiter(str(database)) as limiter:
        assert await limiter.hit("IW0001", 3, MINUTE) is not None


async def test_counters_that_cannot_be_written_let_requests_through_with_one_warning_until_they_can(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    database = tmp_path / "intwa.db"
    async with open_rate_limiter(str(database)) as limiter:
        limiter.outage = StorageOutage("request counting", settle_seconds=0, log=logging.getLogger("intwa.rate_limit"))
        blocker = sqlite3.connect(rate_limit_path(str(database)), isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock past the busy timeout
            with caplog.at_level(logging.INFO, logger="intwa.rate_limit"):
                # A limit of 0: any counted hit is refused.
                verdicts = [await limiter.hit("IW0001", 0, MINUTE) for _ in range(2)]
                blocker.execute("ROLLBACK")
                counted = await limiter.hit("IW0001", 0, MINUTE)
        finally:
            blocker.close()

    assert verdicts == [None, None]
    assert counted is not None  # counted again, and refused
    assert [(record.levelname, " ".join(record.message.split()[:5])) for record in caplog.records] == [
        ("WARNING", "request counting is unavailable (database"),
        ("INFO", "request counting answers again: unavailable"),
    ]
    assert caplog.records[1].message.endswith(", 2 calls failed")
