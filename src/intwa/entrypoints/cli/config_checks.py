"""What `intwa config check` looks at beyond loading the settings: storage, schema and provider (SPEC §4).

Each check is a `Finding`, said in one line without a secret: the DSN may hold a password and is never
named, the Graph token is only said to be set. Nothing is created, migrated or written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from intwa.entrypoints.cli.context import CliContext, describe_store, open_storage, require_current_schema
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.settings import Settings


class Finding(NamedTuple):
    """One line of the report: `ok: …` or `problem: …`."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'problem'}: {' '.join(self.text.split())}"


def check_configuration(cli: CliContext, settings: Settings) -> list[Finding]:
    """Every finding about `settings`, in the order an operator fixes them."""
    import asyncio

    findings = [_loaded(cli)]
    if settings.storage.backend == "sqlite":
        findings.append(sqlite_folder(settings.storage.sqlite_path))
    findings.extend(asyncio.run(_storage(cli, settings)))
    findings.append(_provider(settings))
    return findings


def _loaded(cli: CliContext) -> Finding:
    if cli.config_path is None:
        return Finding(True, "no configuration file: defaults and INTWA_* variables are valid")
    return Finding(True, f"the configuration {cli.config_path} and INTWA_* variables are valid")


def sqlite_folder(path: str) -> Finding:
    """Whether the SQLite file's folder exists and is writable, or could be made by `intwa db migrate`."""
    folder = Path(path).parent
    if not folder.exists():
        ancestor = next(parent for parent in folder.parents if parent.exists())
        if ancestor.is_dir() and os.access(ancestor, os.W_OK | os.X_OK):
            return Finding(True, f"the SQLite folder {folder} does not exist yet; `intwa db migrate` creates it")
        return Finding(False, f"the SQLite folder {folder} cannot be created: {ancestor} is not a writable folder")
    if not folder.is_dir():
        return Finding(False, f"storage.sqlite_path: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        return Finding(False, f"the SQLite folder {folder} is not writable by this user")
    if Path(path).exists() and not os.access(path, os.R_OK | os.W_OK):
        return Finding(False, f"the SQLite database {path} is not readable and writable by this user")
    return Finding(True, f"the SQLite folder {folder} exists and is writable")


async def _storage(cli: CliContext, settings: Settings) -> list[Finding]:
    """Whether the store opens (PostgreSQL: answers) without being created, and its schema is current."""
    from intwa.domain.errors import DomainError

    container = cli.build_container(settings, creates_database=False)
    try:
        try:
            await open_storage(container, settings)
        except DomainError as error:
            return [Finding(False, error.message)]
        found = [] if settings.storage.backend == "sqlite" else [Finding(True, "the PostgreSQL database answers")]
        try:
            state = await require_current_schema(container, settings)
        except DomainError as error:
            return [*found, Finding(False, error.message)]
        return [*found, Finding(True, f"{describe_store(settings)} is migrated (schema version {state.version})")]
    finally:
        await resolve(container.shutdown_resources)


def _provider(settings: Settings) -> Finding:
    from intwa.adapters.provider.fake_data import FakeDataError, load_fake_data
    from intwa.entrypoints.cli.servers import require_provider_credentials
    from intwa.settings import SettingsError

    if settings.provider.backend == "graph":
        try:
            require_provider_credentials(settings)
        except SettingsError as error:
            return Finding(False, str(error))
        return Finding(True, "the Graph provider has an access token")
    try:
        load_fake_data(settings.provider.fake_data)
    except FakeDataError as error:
        return Finding(False, str(error))
    data = settings.provider.fake_data or "the built-in demo data"
    return Finding(True, f"the fake provider serves {data}")
