"""A storage outage is logged when it starts and when it ends, never per failed call (SPEC §3.8 `50301`)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from intwa.adapters.storage.outage import OUTAGE_LOGGER, StorageOutage
from intwa.domain.errors import StorageUnavailable


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def outage(ticks: Ticks) -> StorageOutage:
    return StorageOutage(monotonic=ticks)


def _lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [(record.levelname, record.getMessage()) for record in caplog.records if record.name == OUTAGE_LOGGER]


async def test_many_concurrent_failures_and_the_recovery_are_two_lines(
    outage: StorageOutage, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    async def request() -> StorageUnavailable:
        await asyncio.sleep(0)
        return outage.unavailable("connection lost", ConnectionResetError("reset by peer"))

    with caplog.at_level(logging.INFO, logger=OUTAGE_LOGGER):
        errors = await asyncio.gather(*(request() for _ in range(250)))
        ticks.now += 8
        errors += await asyncio.gather(*(request() for _ in range(250)))
        ticks.now += 1
        outage.answered(wrote=False)
        outage.answered(wrote=False)

    assert {error.message for error in errors} == {"storage is unavailable (connection lost); retry in 5 s"}
    assert {error.retry_after_seconds for error in errors} == {5}
    assert _lines(caplog) == [
        (
            "WARNING",
            "storage is unavailable (connection lost): ConnectionResetError: reset by peer;"
            " requests that need it are answered 50301 until it answers again",
        ),
        ("INFO", "storage answers again: unavailable for 8.0 s, 500 calls failed"),
    ]
    assert not outage.failing


async def test_an_outage_ends_only_once_calls_succeed_a_moment_after_the_last_failure(
    outage: StorageOutage, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=OUTAGE_LOGGER):
        outage.unavailable("connection lost", OSError("refused"))
        ticks.now += 0.5
        outage.answered(wrote=True)  # the first new connection answers
        outage.unavailable("connection lost", OSError("an old broken connection of the pool"))
        ticks.now += 0.5
        outage.answered(wrote=True)
        assert outage.failing
        ticks.now += 0.6
        outage.answered(wrote=True)

    assert [level for level, _ in _lines(caplog)] == ["WARNING", "INFO"]
    assert not outage.failing


async def test_reads_that_go_on_working_do_not_end_an_outage_of_writes(
    outage: StorageOutage, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=OUTAGE_LOGGER):
        for _ in range(3):  # binds on a full disk, with reads answering in between
            outage.unavailable("disk full", OSError("database or disk is full"), writes_only=True)
            ticks.now += 10
            outage.answered(wrote=False)
        assert outage.failing
        outage.answered(wrote=True)

    assert [level for level, _ in _lines(caplog)] == ["WARNING", "INFO"]


async def test_an_outage_of_every_call_is_not_ended_by_a_write_only_failure_clearing(
    outage: StorageOutage, ticks: Ticks
) -> None:
    outage.unavailable("disk full", OSError("full"), writes_only=True)
    outage.unavailable("connection lost", OSError("reset"))
    ticks.now += 2
    outage.answered(wrote=False)  # a read answering ends it: connecting works again

    assert not outage.failing


async def test_a_second_outage_is_logged_again(
    outage: StorageOutage, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=OUTAGE_LOGGER):
        for _ in range(2):
            outage.unavailable("connection lost", OSError("reset"))
            ticks.now += 2
            outage.answered(wrote=False)

    assert [level for level, _ in _lines(caplog)] == ["WARNING", "INFO", "WARNING", "INFO"]
