"""The PostgreSQL server that tests use: where it is, whether it answers, and databases of their own.

Tests that need PostgreSQL are skipped, with a reason that says how to run them, when no server answers;
in CI (`CI` set to anything but false) they fail instead, so a CI run can never pass without them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

DSN_VARIABLE = "INTWA_TEST_POSTGRES_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ANSWER_TIMEOUT_SECONDS = 2.0

T = TypeVar("T")


def admin_dsn() -> str:
    """A DSN of a database on the server whose user may create and drop databases."""
    return os.environ.get(DSN_VARIABLE) or DEFAULT_DSN


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def run_blocking(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in an event loop of its own, in a thread, so that it works inside a running loop too."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(asyncio.run(_awaited(work)))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, name="postgres test set-up")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


class PostgresServer:
    """A server that answered; makes and drops uniquely named databases on it."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def create_database(self) -> str:
        """A new empty database; its DSN."""
        name = f"intwa_test_{os.getpid()}_{secrets.token_hex(4)}"
        run_blocking(lambda: self._execute(f'CREATE DATABASE "{name}"'))
        return urlunsplit(urlsplit(self.dsn)._replace(path=f"/{name}"))

    def drop_database(self, dsn: str) -> None:
        name = urlsplit(dsn).path.lstrip("/")
        run_blocking(lambda: self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _execute(self, sql: str) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=ANSWER_TIMEOUT_SECONDS)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()


def require_server() -> PostgresServer:
    """The server at `admin_dsn()`; skips the test (fails it in CI) when it does not answer in 2 s."""
    dsn = admin_dsn()
    try:
        run_blocking(lambda: asyncio.wait_for(_ask(dsn), ANSWER_TIMEOUT_SECONDS * 2))
    except Exception as error:
        where = urlsplit(dsn).hostname, urlsplit(dsn).port or 5432
        reason = (
            f"PostgreSQL at {where[0]}:{where[1]} does not answer ({type(error).__name__}: {error}): start it"
            f" (`pg_ctlcluster 15 main start`) or set {DSN_VARIABLE} to a server where the user may create databases"
        )
        if in_ci():
            pytest.fail(f"{reason} — in CI the PostgreSQL tests must run, not be skipped", pytrace=False)
        pytest.skip(reason)
    return PostgresServer(dsn)


async def _ask(dsn: str) -> None:
    connection = await asyncpg.connect(dsn, timeout=ANSWER_TIMEOUT_SECONDS)
    try:
        await connection.fetchval("SELECT 1")
    finally:
        await connection.close()
