"""Binding commands and the data queries, acting for a named account directly (no API key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, closing_refreshes, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.models import Binding, ListedWaba, PhoneNumber

_refresh_option = click.option("--refresh", is_flag=True, help="Ask the provider now, whatever the snapshot's age.")


@click.command()
@click.argument("name")
@click.argument("waba_id")
@click.argument("phone_number_id")
@click.option("--phone-number", help="The number's digits, checked against its display phone number.")
@json_option
@click.pass_obj
def bind(
    cli: CliContext, name: str, waba_id: str, phone_number_id: str, phone_number: str | None, as_json: bool
) -> None:
    """Bind a WABA's phone number to an account.

    The same rules as the HTTP bind: the provider is asked whether the WABA and the number exist and belong
    together, and neither may be bound to another account.
    """

    async def command(container: Container) -> Binding:
        await _require_account(container, name)
        bind_phone_number = await resolve(container.bind_phone_number)
        return await bind_phone_number(name, waba_id, phone_number_id, phone_number, source="operator")

    _show_binding(cli.run(command), as_json=as_json, title="bound")


@click.command()
@click.argument("name")
@click.argument("waba_id")
@click.argument("phone_number_id")
@json_option
@click.pass_obj
def unbind(cli: CliContext, name: str, waba_id: str, phone_number_id: str, as_json: bool) -> None:
    """Remove a binding of an account.

    The WABA is released, free to be bound by another account, with its last bound phone number.
    """

    async def command(container: Container) -> Binding:
        await _require_account(container, name)
        unbind_phone_number = await resolve(container.unbind_phone_number)
        return await unbind_phone_number(name, waba_id, phone_number_id, source="operator")

    _show_binding(cli.run(command), as_json=as_json, title="unbound")


@click.command()
@click.argument("name", required=False)
@json_option
@click.pass_obj
def bindings(cli: CliContext, name: str | None, as_json: bool) -> None:
    """List the bindings of one account, or of all accounts."""
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[Binding]:
        if name is not None:
            await _require_account(container, name)
        list_bindings = await resolve(container.list_bindings)
        return await list_bindings(name)

    rows = [render.BindingRow.of(binding) for binding in cli.run(command)]
    render.show(rows, as_json=as_json, empty="no bindings")


@click.command("phone-info")
@click.argument("name")
@click.argument("waba_id")
@_refresh_option
@json_option
@click.pass_obj
def phone_info(cli: CliContext, name: str, waba_id: str, refresh: bool, as_json: bool) -> None:
    """Show the phone numbers of an account's WABA.

    The same data as the HTTP phoneInfo endpoint, from the snapshot while it is younger than the TTL.
    """
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[PhoneNumber]:
        await _require_account(container, name)
        query = await resolve(container.list_phone_numbers)
        return await closing_refreshes(container, query(name, waba_id, refresh=refresh))

    rows = [render.PhoneNumberRow.of(phone) for phone in cli.run(command)]
    render.show(rows, as_json=as_json, empty=f"WABA {waba_id} has no phone numbers")


@click.command("waba-info")
@click.argument("name")
@_refresh_option
@json_option
@click.pass_obj
def waba_info(cli: CliContext, name: str, refresh: bool, as_json: bool) -> None:
    """Show the WABAs bound to an account.

    The same data as the HTTP wabaInfo endpoint, from the snapshots while they are younger than the TTL.
    A WABA whose refresh failed is listed with its last known data and a warning on stderr; with
    `--refresh`, the exit code is then 1.
    """
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[ListedWaba]:
        await _require_account(container, name)
        query = await resolve(container.list_wabas)
        return await closing_refreshes(container, query(name, refresh=refresh))

    wabas = cli.run(command)
    render.show(
        [render.WabaRow.of(waba) for waba in wabas], as_json=as_json, empty=f"no WABAs are bound to account {name}"
    )
    failed = [waba for waba in wabas if waba.refresh_error is not None]
    for waba in failed:
        click.echo(f"warning: WABA {waba.waba.id} shows its last known data: {waba.refresh_error}", err=True)
    if failed and refresh:
        raise click.exceptions.Exit(1)


async def _require_account(container: Container, name: str) -> None:
    """Fail with `AccountNotFound` first, so an unknown NAME is not reported as a binding problem."""
    accounts = await resolve(container.accounts)
    await accounts.require(name)


def _show_binding(binding: Binding, *, as_json: bool, title: str) -> None:
    from intwa.entrypoints.cli import render

    render.show_one(render.BindingRow.of(binding), as_json=as_json, title=title)
