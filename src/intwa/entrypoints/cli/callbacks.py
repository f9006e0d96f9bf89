"""`intwa callback ...`: an account's callback for an operator, with the rules of the HTTP endpoints (SPEC §3.10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.callbacks.models import Callback, CallbackReport, NewCallback, PingReport


@click.group()
def callback() -> None:
    """Set, show, delete and test an account's callback URL."""


@callback.command("set")
@click.argument("name")
@click.argument("url")
@click.option(
    "--types",
    metavar="T,...",
    help="The event types to send, comma-separated (test.ping always); without it, every type.",
)
@click.option("--rotate-secret", is_flag=True, help="A new secret, shown once; the old one signs too for 24 hours.")
@json_option
@click.pass_obj
def set_(cli: CliContext, name: str, url: str, types: str | None, rotate_secret: bool, as_json: bool) -> None:
    """Set the callback URL of an account, and the event types sent to it.

    The URL must be https:// and its host must resolve to public addresses only (see events.allow_http and
    events.allow_private_targets). The first setting, and one with --rotate-secret, prints a new secret:
    it is shown only then.
    """
    from intwa.entrypoints.cli.callback_rows import CallbackRow
    from intwa.entrypoints.cli.render import show_one

    chosen = None if types is None else [part.strip() for part in types.split(",") if part.strip()]

    async def command(container: Container) -> NewCallback:
        await _require_account(container, name)
        set_callback = await resolve(container.set_callback)
        return await set_callback(name, url, chosen, rotate_secret=rotate_secret)

    new = cli.run(command)
    title = f"set the callback of account {name}" + (
        "; its secret is shown only now:" if new.secret is not None else " (its secret is unchanged)"
    )
    show_one(CallbackRow.of(new), as_json=as_json, title=title)


@callback.command()
@click.argument("name")
@json_option
@click.pass_obj
def info(cli: CliContext, name: str, as_json: bool) -> None:
    """Show the callback of an account, without its secret, and how its deliveries stand."""
    from intwa.entrypoints.cli.callback_rows import CallbackInfoRow
    from intwa.entrypoints.cli.render import show_one

    async def command(container: Container) -> CallbackReport:
        await _require_account(container, name)
        show_callback = await resolve(container.show_callback)
        return await show_callback(name)

    show_one(CallbackInfoRow.of(cli.run(command)), as_json=as_json, title=f"the callback of account {name}")


@callback.command()
@click.argument("name")
@json_option
@click.pass_obj
def delete(cli: CliContext, name: str, as_json: bool) -> None:
    """Delete the callback of an account; its pending deliveries end failed."""
    from intwa.entrypoints.cli.callback_rows import CallbackRow
    from intwa.entrypoints.cli.render import show_one

    async def command(container: Container) -> Callback:
        await _require_account(container, name)
        delete_callback = await resolve(container.delete_callback)
        return await delete_callback(name)

    show_one(
        CallbackRow.without_secret(cli.run(command)), as_json=as_json, title=f"deleted the callback of account {name}"
    )


@callback.command()
@click.argument("name")
@json_option
@click.pass_obj
def test(cli: CliContext, name: str, as_json: bool) -> None:
    """Send a test.ping to the callback of an account now, and show how it went.

    The exit code is 1 when the receiver did not answer 2xx; what it answered, or what went wrong, is shown.
    """
    from intwa.entrypoints.cli.callback_rows import CallbackTestRow
    from intwa.entrypoints.cli.render import show_one

    async def command(container: Container) -> PingReport:
        await _require_account(container, name)
        ping_callback = await resolve(container.ping_callback)
        return await ping_callback(name, "operator")

    row = CallbackTestRow.of(cli.run(command))
    title = "delivered the test ping" if row.delivered else "the test ping was not delivered"
    show_one(row, as_json=as_json, title=title)
    if not row.delivered:
        raise click.exceptions.Exit(1)


async def _require_account(container: Container, name: str) -> None:
    """Fail with `AccountNotFound` first, so an unknown NAME is not reported as a missing callback."""
    accounts = await resolve(container.accounts)
    await accounts.require(name)
