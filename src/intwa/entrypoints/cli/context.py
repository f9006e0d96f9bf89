"""What every command shares: the configuration path, the container, and running a use case in a loop."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import click

from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.ports import SchemaState
    from intwa.settings import Settings

T = TypeVar("T")

ContainerFactory = Callable[["Settings"], "Container"]

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON document (camelCase, like the HTTP API) instead of a table."
)


CONFIG_HELP = "TOML configuration file (also from INTWA_CONFIG); without one, defaults and INTWA_* variables."


def accept_config_option(command: click.Command) -> None:
    """Let `command`, and every command under it if it is a group, take `--config PATH` too (SPEC §4).

    `--config` is accepted before or after the command: the value given nearest the command wins, as
    each command's context starts from a copy of its parent's `CliContext`.
    """
    if not any(param.name == "config" for param in command.params):
        command.params.append(
            click.Option(
                ["--config"],
                metavar="PATH",
                expose_value=False,
                callback=_use_config_path,
                help="TOML configuration file, as `intwa --config PATH`; given here, it wins over one given before.",
            )
        )
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            accept_config_option(subcommand)


def _use_config_path(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    if value is not None:
        base = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
        ctx.obj = dataclasses.replace(base, config_path=value)


@dataclass(frozen=True)
class CliContext:
    """The root group's `ctx.obj`. Tests pass their own `container_factory`, e.g. one with a fake provider."""

    config_path: str | None = None
    container_factory: ContainerFactory | None = None

    def load_settings(self) -> Settings:
        """Settings from `--config` (or defaults) and `INTWA_<SECTION>__<KEY>` variables."""
        from intwa.settings import load_settings

        return load_settings(self.config_path)

    def run(
        self,
        command: Callable[[Container], Awaitable[T]],
        settings: Settings | None = None,
        *,
        migrates: bool = False,
    ) -> T:
        """Run `command` with a fresh container in its own event loop, and close the container after.

        Only a command that `migrates` may find no database, or one not migrated: it makes one (SPEC §4).
        Any other is refused before it runs, with what to do.
        """
        import asyncio

        return asyncio.run(self._run(command, settings or self.load_settings(), migrates=migrates))

    async def _run(self, command: Callable[[Container], Awaitable[T]], settings: Settings, *, migrates: bool) -> T:
        container = self.build_container(settings, creates_database=migrates)
        try:
            await open_storage(container, settings)
            if not migrates:
                await require_current_schema(container, settings)
            return await command(container)
        finally:
            await resolve(container.shutdown_resources)

    def build_container(self, settings: Settings, *, creates_database: bool) -> Container:
        """A container for `settings`; its storage makes a database that is missing only if `creates_database`."""
        if self.container_factory is not None:
            container = self.container_factory(settings)
        else:
            from intwa.container import build_container

            container = build_container(settings)
        if not creates_database:
            container.creates_database.override(False)
        return container


async def closing_refreshes(container: Container, work: Awaitable[T]) -> T:
    """Await `work`, then end the refreshes it left under way, before the store and the provider's client close."""
    snapshots = await resolve(container.snapshots)
    try:
        return await work
    finally:
        await snapshots.close()


async def open_storage(container: Container, settings: Settings) -> None:
    """Open the storage first, so that a store that cannot be opened is reported as such (50301)."""
    from intwa.domain.errors import DomainError, StorageUnavailable

    try:
        await resolve(container.storage)
    except DomainError:
        raise
    except Exception as error:
        # The DSN may hold a password, so only the SQLite path is named.
        where = f" at {settings.storage.sqlite_path}" if settings.storage.backend == "sqlite" else ""
        raise StorageUnavailable(
            f"cannot open the {settings.storage.backend} storage{where}: {error or type(error).__name__}"
        ) from error


async def require_current_schema(container: Container, settings: Settings) -> SchemaState:
    """The store's schema state; `StorageNotReady`, saying what to do, unless it is this code's latest."""
    from intwa.domain.errors import StorageNotReady

    storage = await resolve(container.storage)
    state = await storage.schema_state()
    problem = state.problem(describe_store(settings))
    if problem is not None:
        raise StorageNotReady(problem)
    return state


def describe_store(settings: Settings) -> str:
    """The store as an operator knows it: the SQLite file, never the DSN (it may hold a password)."""
    if settings.storage.backend == "sqlite":
        return f"the SQLite database {settings.storage.sqlite_path}"
    return "the PostgreSQL database"
