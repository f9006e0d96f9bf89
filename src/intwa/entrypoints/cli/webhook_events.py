"""`intwa webhook-events`: the Meta webhook events intwa kept, oldest first (SPEC §3.9)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.models import WebhookEvent


@click.command("webhook-events")
@click.option("--waba", "waba_id", metavar="ID", help="Only the events of this WABA.")
@json_option
@click.pass_obj
def webhook_events(cli: CliContext, waba_id: str | None, as_json: bool) -> None:
    """Show the account and capability events Meta posted for bound WABAs, oldest first.

    They are kept `events.retention_days`; events for WABAs that are not bound are not kept.
    """
    from intwa.domain import validation
    from intwa.entrypoints.cli import render

    async def command(container: Container) -> list[WebhookEvent]:
        if waba_id is not None:
            validation.meta_id(waba_id, "--waba")
        storage = await resolve(container.storage)
        return await storage.list_webhook_events(waba_id)

    rows = [render.WebhookEventRow.of(event) for event in cli.run(command)]
    render.show(rows, as_json=as_json, empty="no webhook events kept")
