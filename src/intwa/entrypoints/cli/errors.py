"""The one place where a command's failure becomes one line on stderr and exit code 1 (SPEC §4)."""

from __future__ import annotations

import os
from typing import Any

import click


class CommandFailed(Exception):
    """A failure the operator can act on, said in full by its message; printed as `error: <message>`."""


class IntwaGroup(click.Group):
    """The root command group: every failure of a subcommand leaves through `invoke` below.

    Usage errors stay click's (exit code 2). Everything else prints one line, never a traceback
    unless `INTWA_DEBUG=1`, and exits with 1. Every command added takes `--config` after its name too.
    """

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        from intwa.entrypoints.cli.context import accept_config_option

        accept_config_option(cmd)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        _quiet_outage_log()
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            click.echo(describe_failure(error), err=True)
            if os.environ.get("INTWA_DEBUG") == "1":
                raise
            raise click.exceptions.Exit(1) from None


def describe_failure(error: Exception) -> str:
    """One line for the operator: the API error code for domain errors, the exception type for surprises."""
    # Imported here: the error path may be the only one that needs them, and `--help` must stay fast.
    from intwa.adapters.provider.fake_data import FakeDataError
    from intwa.domain.errors import DomainError, StorageNotReady
    from intwa.settings import SettingsError

    # A store to set up, not an outage: the message says what to run.
    if isinstance(error, StorageNotReady):
        return f"error: {_one_line(error.message)}"
    if isinstance(error, DomainError):
        return f"error {error.code}: {_one_line(error.message)}"
    # Configuration the operator must fix; the messages name the file and key.
    if isinstance(error, SettingsError | FakeDataError | CommandFailed):
        return f"error: {_one_line(str(error))}"
    detail = _one_line(str(error))
    return f"error: unexpected {type(error).__name__}" + (f": {detail}" if detail else "")


def _quiet_outage_log() -> None:
    """Keep a storage outage to the command's one line (`error 50301: …`).

    The store logs an outage once, for servers' logs; a command configures no logging (`serve` does), and
    Python's last-resort handler would print that record as a second line.
    """
    import logging

    from intwa.adapters.storage.outage import OUTAGE_LOGGER

    outage_log = logging.getLogger(OUTAGE_LOGGER)
    if not outage_log.handlers:
        outage_log.addHandler(logging.NullHandler())


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in text.splitlines() if line.strip())
