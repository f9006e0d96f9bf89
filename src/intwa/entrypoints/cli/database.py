"""`intwa db ...`: the storage's schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.ports import Storage


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
@click.pass_obj
def migrate(cli: CliContext) -> None:
    """Create or upgrade the schema; safe to run again."""
    applied = cli.run(migrate_storage, migrates=True)
    if applied:
        click.echo("applied migrations: " + ", ".join(str(version) for version in applied))
    else:
        click.echo("schema is up to date")


async def migrate_storage(container: Container) -> list[int]:
    """Apply the storage's pending migrations; the versions applied now."""
    storage: Storage = await resolve(container.storage)
    return await storage.migrate()
