"""The operators' CLI (SPEC §4): parse arguments, call one use case, print a table or one JSON document.

Only click and the standard library are imported at the top of these modules; settings, the container,
msgspec, uvicorn and the rest are imported inside the commands, so that `intwa --help` starts fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import click

from intwa.entrypoints.cli.accounts import account
from intwa.entrypoints.cli.bindings import bind, bindings, phone_info, unbind, waba_info
from intwa.entrypoints.cli.callbacks import callback
from intwa.entrypoints.cli.config import config
from intwa.entrypoints.cli.context import CONFIG_HELP, CliContext
from intwa.entrypoints.cli.database import db
from intwa.entrypoints.cli.errors import IntwaGroup
from intwa.entrypoints.cli.events import events
from intwa.entrypoints.cli.history import history
from intwa.entrypoints.cli.servers import fake_graph, serve
from intwa.entrypoints.cli.sync import sync
from intwa.entrypoints.cli.webhook_events import webhook_events

__all__ = ["CliContext", "cli", "main"]


@click.group("intwa", cls=IntwaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", metavar="PATH", envvar="INTWA_CONFIG", help=CONFIG_HELP)
@click.version_option(package_name="intwa", prog_name="intwa")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """intwa: bind customers' WhatsApp Business Accounts and phone numbers, and read their state."""
    base = ctx.obj if isinstance(ctx.obj, CliContext) else CliContext()
    ctx.obj = dataclasses.replace(base, config_path=config)


for _command in (
    serve,
    db,
    account,
    bind,
    unbind,
    bindings,
    phone_info,
    waba_info,
    sync,
    history,
    webhook_events,
    events,
    callback,
    config,
    fake_graph,
):
    cli.add_command(_command)


def main(args: Sequence[str] | None = None, *, obj: CliContext | None = None) -> None:
    """The `intwa` console script; `obj` lets tests and embedders supply their own container factory."""
    cli.main(args=args, prog_name="intwa", obj=obj)
