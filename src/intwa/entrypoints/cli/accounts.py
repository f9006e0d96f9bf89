"""`intwa account ...`: create, list, disable and enable accounts, and rotate their API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.models import Account, AccountSummary, NewApiKey


@click.group()
def account() -> None:
    """Create, list, disable and enable accounts; rotate API keys."""


@account.command()
@click.argument("name")
@json_option
@click.pass_obj
def create(cli: CliContext, name: str, as_json: bool) -> None:
    """Create an account and print its new API key, once."""

    async def command(container: Container) -> NewApiKey:
        accounts = await resolve(container.accounts)
        return await accounts.create(name)

    _show_key(cli.run(command), as_json=as_json, title=f"created account {name}; its API key is shown only now:")


@account.command("list")
@json_option
@click.pass_obj
def list_accounts(cli: CliContext, as_json: bool) -> None:
    """List accounts with their status and binding counts."""
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[AccountSummary]:
        accounts = await resolve(container.accounts)
        return await accounts.list()

    rows = [render.AccountRow.of(summary) for summary in cli.run(command)]
    render.show(rows, as_json=as_json, empty="no accounts")


@account.command()
@click.argument("name")
@click.pass_obj
def disable(cli: CliContext, name: str) -> None:
    """Disable an account: its API keys get 40300 until it is enabled again."""
    _set_enabled(cli, name, enabled=False)


@account.command()
@click.argument("name")
@click.pass_obj
def enable(cli: CliContext, name: str) -> None:
    """Enable a disabled account."""
    _set_enabled(cli, name, enabled=True)


def _set_enabled(cli: CliContext, name: str, *, enabled: bool) -> None:
    async def command(container: Container) -> Account:
        accounts = await resolve(container.accounts)
        return await (accounts.enable(name) if enabled else accounts.disable(name))

    cli.run(command)
    click.echo(f"{'enabled' if enabled else 'disabled'} account {name}")


@account.command("rotate-key")
@click.argument("name")
@json_option
@click.pass_obj
def rotate_key(cli: CliContext, name: str, as_json: bool) -> None:
    """Issue a new API key; the account's old keys stop working at once."""

    async def command(container: Container) -> NewApiKey:
        accounts = await resolve(container.accounts)
        return await accounts.rotate_key(name)

    title = f"new API key of account {name} (older keys no longer work); it is shown only now:"
    _show_key(cli.run(command), as_json=as_json, title=title)


def _show_key(new_key: NewApiKey, *, as_json: bool, title: str) -> None:
    from intwa.entrypoints.cli import render

    render.show_one(render.ApiKeyRow.of(new_key), as_json=as_json, title=title)
