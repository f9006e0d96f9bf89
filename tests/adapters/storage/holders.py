"""Child processes that hold a WABA's refresh lock until they are killed, as a crashed intwa process would."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

PROJECT = Path(__file__).parents[3]

SQLITE_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from contextlib import asynccontextmanager
    from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database

    async def main() -> None:
        async with asynccontextmanager(open_sqlite_database)(sys.argv[1]) as database:
            storage = SqliteStorage(database, refresh_lease_seconds=float(sys.argv[3]))
            async with storage.lock_refresh(sys.argv[2]):
                print("held", flush=True)
                await asyncio.Event().wait()  # a Meta call that has not answered when the process is killed

    asyncio.run(main())
    """
)
"""Holds the refresh lease of WABA `argv[2]` in the SQLite file `argv[1]`, with a lease of `argv[3]` seconds."""

POSTGRES_HOLDER = textwrap.dedent(
    """
    import asyncio, sys
    from contextlib import asynccontextmanager
    from intwa.adapters.storage.postgres import PostgresStorage, open_postgres_pool
    from intwa.settings import Secret

    async def main() -> None:
        async with asynccontextmanager(open_postgres_pool)(Secret(sys.argv[1])) as database:
            async with PostgresStorage(database).lock_refresh(sys.argv[2]):
                print("held", flush=True)
                await asyncio.Event().wait()  # a Meta call that has not answered when the process is killed

    asyncio.run(main())
    """
)
"""Holds the refresh lock of WABA `argv[2]` in the PostgreSQL database at `argv[1]`."""


@asynccontextmanager
async def holding_child(script: str, *arguments: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A child process running `script`, once it says it holds the lock; killed and awaited at the end."""
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-c", script, *arguments),
        cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        async with asyncio.timeout(60):
            assert await child.stdout.readline() == b"held\n"
        yield child
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
