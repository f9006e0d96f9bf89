"""Where a store's schema stands (`Storage.schema_state`), read without creating or changing anything.

The CLI refuses to run on a store that is not `current` (SPEC §4); only `serve` and `db migrate` make one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from intwa.adapters.storage import postgres_migrations, sqlite_migrations
from intwa.adapters.storage.postgres import PostgresDatabase, PostgresStorage
from intwa.adapters.storage.sqlite import SqliteDatabase, SqliteStorage
from intwa.domain.errors import StorageNotReady
from intwa.domain.ports import SchemaState
from tests.adapters.storage.conftest import open_database

SQLITE_LATEST = max(migration.version for migration in sqlite_migrations.MIGRATIONS)
POSTGRES_LATEST = max(migration.version for migration in postgres_migrations.MIGRATIONS)


@pytest.mark.parametrize(("version", "standing"), [(None, "missing"), (2, "behind"), (5, "current"), (6, "ahead")])
def test_a_schema_stands_by_its_newest_version_against_the_codes(version: int | None, standing: str) -> None:
    assert SchemaState(version, 5).standing == standing
    assert (SchemaState(version, 5).problem("the store") is None) == (standing == "current")


async def test_opening_a_missing_sqlite_file_without_create_makes_neither_file_nor_folder(tmp_path: Path) -> None:
    path = tmp_path / "var" / "intwa.db"

    with pytest.raises(StorageNotReady, match="does not exist: create it with `intwa db migrate`"):
        async with open_database(str(path), create=False):
            pass

    assert not (tmp_path / "var").exists()


async def test_a_sqlite_file_opened_without_create_goes_from_missing_to_current_as_it_is_migrated(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in a folder with spaces?" / "intwa.db"
    path.parent.mkdir()
    path.touch()

    async with open_database(str(path), create=False) as database:
        assert await SqliteStorage(database).schema_state() == SchemaState(None, SQLITE_LATEST)
        await sqlite_migrations.apply_migrations(database, sqlite_migrations.MIGRATIONS[:1])
        assert (await SqliteStorage(database).schema_state()).standing == "behind"
        await SqliteStorage(database).migrate()
        assert await SqliteStorage(database).schema_state() == SchemaState(SQLITE_LATEST, SQLITE_LATEST)

    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["intwa.db"]


async def test_a_sqlite_schema_of_a_newer_intwa_is_ahead(database: SqliteDatabase) -> None:
    storage = SqliteStorage(database)
    await storage.migrate()
    async with database.transaction() as writer:
        await writer.execute("INSERT INTO schema_migrations VALUES (?, '2030-01-01T00:00:00Z')", (SQLITE_LATEST + 1,))

    assert (await storage.schema_state()).standing == "ahead"


async def test_a_postgres_schema_goes_from_missing_to_behind_current_and_ahead(postgres: PostgresDatabase) -> None:
    storage = PostgresStorage(postgres)

    assert await storage.schema_state() == SchemaState(None, POSTGRES_LATEST)
    await postgres_migrations.apply_migrations(postgres, postgres_migrations.MIGRATIONS[:1])
    assert await storage.schema_state() == SchemaState(1, POSTGRES_LATEST)
    await storage.migrate()
    assert (await storage.schema_state()).standing == "current"
    await postgres.fetch("INSERT INTO schema_migrations VALUES ($1, now())", POSTGRES_LATEST + 1)
    assert (await storage.schema_state()).standing == "ahead"


async def test_a_missing_sqlite_file_is_still_created_by_default(tmp_path: Path) -> None:
    path = tmp_path / "var" / "intwa.db"

    async with open_database(str(path)) as database:
        assert (await SqliteStorage(database).schema_state()).standing == "missing"

    assert path.exists()
