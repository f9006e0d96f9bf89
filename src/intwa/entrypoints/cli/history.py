"""`intwa history`: the recorded changes of tracked fields, oldest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.models import Change


@click.command()
@click.option("--waba", "waba_id", metavar="ID", help="Only the changes of this WABA and its phone numbers.")
@click.option("--phone", "phone_number_id", metavar="ID", help="Only the changes of this phone number.")
@json_option
@click.pass_obj
def history(cli: CliContext, waba_id: str | None, phone_number_id: str | None, as_json: bool) -> None:
    """Show recorded changes of status, quality, limits, names and review status, oldest first.

    Also Meta's verdict (canSendMessage), name status, accessible, and phone numbers added to or removed from a
    WABA (field phoneNumber). Each change names what brought it: a bind, a customer's request, a sync, a Meta
    webhook, or an operator's bind.
    """
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[Change]:
        list_history = await resolve(container.list_history)
        return await list_history(waba_id, phone_number_id)

    rows = [render.ChangeRow.of(change) for change in cli.run(command)]
    render.show(rows, as_json=as_json, empty="no recorded changes")
