"""`intwa account ...`: create, list, disable and enable accounts, and rotate their API keys."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.models import Account, AccountSummary, NewApiKey


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`--keep-old-for`: a whole number of seconds, minutes, hours or days (`90m`, `24h`, `1d`), or `0`.

    At most `MAX_KEEP_OLD_KEYS` (7 days); anything else is a usage error.
    """
    from intwa.domain.accounts import MAX_KEEP_OLD_KEYS

    written = text.strip().lower()
    number, unit = ("0", "s") if written == "0" else (written[:-1], written[-1:])
    if not (number.isascii() and number.isdigit()) or unit not in DURATION_UNITS:
        raise click.BadParameter(f"{text!r} is not a duration: write a whole number and s, m, h or d, e.g. 90m or 24h")
    digits = number.lstrip("0") or "0"
    # Seven digits of seconds are more than 7 days already; Python refuses to read thousands of them.
    if len(digits) > 7 or int(digits) * DURATION_UNITS[unit] > MAX_KEEP_OLD_KEYS.total_seconds():
        raise click.BadParameter(f"{text!r} is longer than {MAX_KEEP_OLD_KEYS.days} days, the most allowed")
    return timedelta(seconds=int(digits) * DURATION_UNITS[unit])


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
@click.option(
    "--keep-old-for",
    metavar="DURATION",
    callback=lambda ctx, param, value: None if value is None else parse_duration(value),
    help="Let the older keys work this long too, e.g. 90m, 24h, 1d (at most 7d).  [default: 0, they stop at once]",
)
@json_option
@click.pass_obj
def rotate_key(cli: CliContext, name: str, keep_old_for: timedelta | None, as_json: bool) -> None:
    """Issue a new API key; the account's older keys stop working at once, or after --keep-old-for."""
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> NewApiKey:
        accounts = await resolve(container.accounts)
        return await accounts.rotate_key(name, keep_old_for or timedelta(0))

    rotated = render.RotatedKeyRow.of(cli.run(command))
    if rotated.old_keys_valid_until is None:
        title = f"new API key of account {name} (older keys no longer work); it is shown only now:"
    else:
        title = f"new API key of account {name} (older keys work until {rotated.until_text()}); it is shown only now:"
    # The JSON of a plain rotation is SPEC §4's `{"accountName", "apiKey"}`, exactly.
    row = render.ApiKeyRow(rotated.account_name, rotated.api_key) if keep_old_for is None else rotated
    render.show_one(row, as_json=as_json, title=title)


def _show_key(new_key: NewApiKey, *, as_json: bool, title: str) -> None:
    from intwa.entrypoints.cli import render

    render.show_one(render.ApiKeyRow.of(new_key), as_json=as_json, title=title)
