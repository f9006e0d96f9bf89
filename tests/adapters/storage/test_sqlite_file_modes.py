"""The modes intwa creates its SQLite files and folders with (SPEC §7): their owner's only."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from intwa.adapters.rate_limit.sqlite import open_sqlite_rate_limiter, rate_limit_path
from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database

open_database = asynccontextmanager(open_sqlite_database)
open_rate_limiter = asynccontextmanager(open_sqlite_rate_limiter)


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    """The usual umask, whatever the test runner's: the modes asserted are intwa's, not the umask's."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_database_files_are_the_owners_only_and_so_are_the_folders_made_for_them(tmp_path: Path) -> None:
    path = tmp_path / "var" / "lib" / "intwa.db"

    async with open_database(str(path)) as database:
        await SqliteStorage(database).migrate()
        async with open_rate_limiter(str(path)) as limiter:
            await limiter.hit("acme", 10, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
            counters = Path(rate_limit_path(str(path)))
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm"), counters, Path(f"{counters}-wal")]
            modes = {file.name: _mode(file) for file in files}

    assert modes == dict.fromkeys(modes, 0o600)
    assert (_mode(tmp_path / "var"), _mode(tmp_path / "var" / "lib")) == (0o700, 0o700)


async def test_files_and_folders_that_exist_keep_the_modes_their_operator_gave_them(tmp_path: Path) -> None:
    folder = tmp_path / "var"
    folder.mkdir(mode=0o750)
    folder.chmod(0o750)
    path = folder / "intwa.db"
    sqlite3.connect(path).close()
    path.chmod(0o640)

    async with open_database(str(path)) as database:
        await SqliteStorage(database).migrate()

    assert (_mode(folder), _mode(path)) == (0o750, 0o640)
