"""PostgreSQL errors that mean the database cannot be used now become `StorageUnavailable`; the rest stay.

A cut network is `tests/faults/test_postgres_cut.py`'s; here the server itself ends intwa's connections.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from intwa.adapters.storage.postgres import PostgresDatabase, PostgresStorage
from intwa.adapters.storage.postgres_database import postgres_unavailability
from intwa.domain.errors import AccountAlreadyExists, StorageUnavailable
from tests.adapters.storage.examples import create_accounts
from tests.postgres import PostgresServer


@pytest.mark.parametrize(
    ("error", "connecting", "expected"),
    [
        (asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"), False, "lost"),
        (
            asyncpg.InterfaceError("cannot call Transaction.commit(): the underlying connection is closed"),
            False,
            "lost",
        ),
        (asyncpg.InterfaceError("pool is closing"), False, "lost"),
        (asyncpg.AdminShutdownError("terminating connection due to administrator command"), False, "shut down"),
        (asyncpg.CannotConnectNowError("the database system is starting up"), False, "starting up or shutting down"),
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), False, "too many connections"),
        (asyncpg.DiskFullError("could not extend file"), False, "disk full"),
        (ConnectionRefusedError(111, "Connect call failed"), True, "cannot connect"),
        (TimeoutError(), True, "no connection in time"),
        (asyncpg.InvalidPasswordError("password authentication failed"), True, "login refused"),
    ],
)
def test_errors_that_mean_the_database_cannot_be_used_now_are_unavailability(
    error: Exception, connecting: bool, expected: str
) -> None:
    found = postgres_unavailability(error, connecting=connecting)

    assert found is not None
    assert expected in found[0]


@pytest.mark.parametrize(
    ("error", "connecting"),
    [
        (asyncpg.UniqueViolationError("duplicate key"), False),
        (asyncpg.UndefinedTableError('relation "nothing" does not exist'), False),
        (asyncpg.PostgresSyntaxError("syntax error"), False),
        (asyncpg.DataError("invalid input for query argument $1"), False),
        (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
        (OSError("a socket error of the caller's block, not of a connection being made"), False),
        (TimeoutError(), False),
    ],
)
def test_integrity_and_programming_errors_stay_what_they_are(error: Exception, connecting: bool) -> None:
    assert postgres_unavailability(error, connecting=connecting) is None


async def test_a_query_the_server_cuts_off_is_storage_unavailable_and_the_next_one_reconnects(
    postgres: PostgresDatabase, postgres_server: PostgresServer
) -> None:
    storage = PostgresStorage(postgres)
    await storage.migrate()

    sleeping = asyncio.ensure_future(postgres.fetch("SELECT pg_sleep(10)"))
    await _terminate_when_running(postgres_server.dsn, "SELECT pg_sleep(10)")

    # asyncpg reports the server's "terminating connection due to administrator command" as the connection lost.
    with pytest.raises(StorageUnavailable, match=r"storage is unavailable \(connection lost\); retry in 5 s"):
        await sleeping
    assert postgres.outage.failing
    await create_accounts(storage, "acme")  # on a new connection
    assert await storage.get_account("acme") is not None
    with pytest.raises(AccountAlreadyExists):  # integrity stays a domain conflict
        await create_accounts(storage, "acme")


async def _terminate_when_running(admin_dsn: str, query: str) -> None:
    """End, as an administrator would, the server process running `query` once it runs."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        for _ in range(200):
            if await connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1", query
            ):
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{query!r} never ran")
    finally:
        await connection.close()
