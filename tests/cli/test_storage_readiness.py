"""Commands other than `serve` and `db migrate` never create or migrate a database (SPEC §4).

On a database that is missing, empty, not migrated or a newer intwa's they say so and what to run, in one
line, exit code 1, and leave the files as they were.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from intwa.adapters.storage.postgres import open_postgres_pool
from intwa.adapters.storage.postgres_migrations import MIGRATIONS as POSTGRES_MIGRATIONS
from intwa.adapters.storage.postgres_migrations import apply_migrations as apply_postgres_migrations
from intwa.adapters.storage.sqlite import open_sqlite_database
from intwa.adapters.storage.sqlite_migrations import MIGRATIONS as SQLITE_MIGRATIONS
from intwa.adapters.storage.sqlite_migrations import apply_migrations as apply_sqlite_migrations
from intwa.settings import Secret
from tests.cli.conftest import Intwa, assert_fails, write_config
from tests.conftest import PHONE_ID, WABA_ID
from tests.postgres import run_blocking

SQLITE_LATEST = max(migration.version for migration in SQLITE_MIGRATIONS)
POSTGRES_LATEST = max(migration.version for migration in POSTGRES_MIGRATIONS)

READ_AND_WRITE_COMMANDS = [
    ["account", "list"],
    ["account", "create", "IW0001"],
    ["account", "rotate-key", "IW0001"],
    ["bindings"],
    ["bind", "IW0001", WABA_ID, PHONE_ID],
    ["history"],
    ["waba-info", "IW0001"],
    ["phone-info", "IW0001", WABA_ID],
    ["sync"],
    ["webhook-events"],
    ["events", "IW0001"],
    ["events", "IW0001", "--follow"],
    ["callback", "set", "IW0001", "https://hooks.example.com/intwa"],
    ["callback", "info", "IW0001"],
    ["callback", "delete", "IW0001"],
    ["callback", "test", "IW0001"],
]


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "data" / "intwa.db"


@pytest.fixture
def intwa(tmp_path: Path, database_path: Path) -> Intwa:
    return Intwa(write_config(tmp_path / "intwa.toml", database_path))


def execute(database_path: Path, sql: str, *parameters: object) -> None:
    with sqlite3.connect(database_path) as connection:
        connection.execute(sql, parameters)
    connection.close()


@pytest.mark.parametrize("args", READ_AND_WRITE_COMMANDS, ids=" ".join)
def test_a_command_on_a_missing_sqlite_database_says_to_migrate_and_creates_neither_file_nor_folder(
    intwa: Intwa, tmp_path: Path, database_path: Path, args: list[str]
) -> None:
    line = assert_fails(intwa(*args), None, str(database_path), "does not exist", "`intwa db migrate`")

    assert "unexpected" not in line
    assert not (tmp_path / "var").exists()


def test_a_missing_database_in_an_existing_folder_is_not_created(intwa: Intwa, database_path: Path) -> None:
    database_path.parent.mkdir(parents=True)

    assert_fails(intwa("account", "list"), None, "does not exist", "`intwa db migrate`")

    assert list(database_path.parent.iterdir()) == []


def test_an_empty_sqlite_file_has_no_schema_and_is_left_unmigrated(intwa: Intwa, database_path: Path) -> None:
    database_path.parent.mkdir(parents=True)
    database_path.touch()

    assert_fails(intwa("account", "list"), None, "has no intwa schema", "`intwa db migrate`")

    with sqlite3.connect(database_path) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == []
    connection.close()


def test_a_database_behind_the_code_names_both_versions_and_is_not_migrated(intwa: Intwa, database_path: Path) -> None:
    asyncio.run(migrate_sqlite_before_the_latest(database_path))

    assert_fails(
        intwa("account", "list"),
        None,
        "is not migrated",
        f"schema version {SQLITE_MIGRATIONS[-2].version}, this intwa needs {SQLITE_LATEST}",
        "run `intwa db migrate`",
    )

    assert intwa.ok("db", "migrate") == f"applied migrations: {SQLITE_LATEST}\n"
    assert intwa.ok("account", "list") == "no accounts\n"


def test_a_database_of_a_newer_intwa_is_refused_by_every_command_in_one_line(intwa: Intwa, database_path: Path) -> None:
    intwa.ok("db", "migrate")
    execute(database_path, "INSERT INTO schema_migrations VALUES (?, '2030-01-01T00:00:00Z')", SQLITE_LATEST + 1)
    newer = f"version {SQLITE_LATEST + 1}, newer than version {SQLITE_LATEST}"

    assert_fails(intwa("account", "list"), None, newer, "run a newer intwa")
    assert_fails(intwa("db", "migrate"), None, newer, "run a newer intwa")


def test_db_migrate_still_creates_the_database_and_its_folders(intwa: Intwa, database_path: Path) -> None:
    assert intwa.ok("db", "migrate").startswith("applied migrations: 1, ")

    assert database_path.exists()
    assert intwa.ok("account", "list") == "no accounts\n"


def test_a_postgres_database_without_the_schema_or_behind_it_says_to_migrate_without_the_dsn(
    intwa: Intwa, fresh_postgres_database: str
) -> None:
    # The server trusts local connections, so the password is accepted and ignored; it must never be printed.
    dsn = fresh_postgres_database.replace("postgresql://postgres@", "postgresql://postgres:hunter2@")
    env: dict[str, str | None] = {"INTWA_STORAGE__BACKEND": "postgres", "INTWA_STORAGE__POSTGRES_DSN": dsn}

    missing = assert_fails(intwa("account", "list", env=env), None, "the PostgreSQL database has no intwa schema")
    run_blocking(lambda: migrate_postgres_before_the_latest(dsn))
    behind = assert_fails(
        intwa("bindings", env=env),
        None,
        f"schema version {POSTGRES_MIGRATIONS[-2].version}, this intwa needs {POSTGRES_LATEST}",
        "`intwa db migrate`",
    )

    for line in (missing, behind):
        assert "hunter2" not in line
        assert dsn.split("@")[1] not in line
    assert intwa("db", "migrate", env=env).stdout == f"applied migrations: {POSTGRES_LATEST}\n"
    assert intwa("account", "list", env=env).stdout == "no accounts\n"


async def migrate_sqlite_before_the_latest(path: Path) -> None:
    """A database as the previous intwa left it: every migration but the latest."""
    path.parent.mkdir(parents=True)
    async with asynccontextmanager(open_sqlite_database)(str(path)) as database:
        await apply_sqlite_migrations(database, SQLITE_MIGRATIONS[:-1])


async def migrate_postgres_before_the_latest(dsn: str) -> None:
    async with asynccontextmanager(open_postgres_pool)(Secret(dsn)) as database:
        await apply_postgres_migrations(database, POSTGRES_MIGRATIONS[:-1])
