"""`intwa events`: an account's customer events as the feed gives them, and `--follow` for new ones (SPEC §3.10)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.feed import EventPage

FOLLOW_POLL_SECONDS = 1.0
"""How often `--follow` asks the store for new events when it has read all there were."""


@click.command()
@click.argument("name")
@click.option("--after", metavar="ID", help="Only the events after this one: the `next` of an earlier read.")
@click.option(
    "--limit",
    type=int,
    default=100,
    show_default=True,
    metavar="N",
    help="At most N events (1-500); per read with --follow.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Keep printing new events as they are written, asking every second, until Ctrl-C. With --json, one JSON"
    " event per line.",
)
@json_option
@click.pass_obj
def events(cli: CliContext, name: str, after: str | None, limit: int, follow: bool, as_json: bool) -> None:
    """Show the customer events of an account, oldest first, as the HTTP feed gives them.

    Every change intwa records of the account's numbers and WABAs, its bindings and Meta's account updates,
    kept `events.retention_days`. `--json` prints `{"events", "next"}` like the feed's `data`; read on with
    `--after NEXT`.
    """
    if follow:
        try:
            cli.run(lambda container: _follow(container, name, after, limit, as_json=as_json))
        except KeyboardInterrupt:
            return  # Ctrl-C is how following ends: no traceback, exit code 0
        return

    from intwa.entrypoints.cli.event_rows import EventRow, event_page_json
    from intwa.entrypoints.cli.render import table

    async def command(container: Container) -> EventPage:
        await _require_account(container, name)
        read_events = await resolve(container.read_events)
        return await read_events(name, after, limit)

    page = cli.run(command)
    if as_json:
        click.echo(event_page_json(page))
    elif page.events:
        click.echo(table(EventRow.HEADERS, [EventRow.of(event).cells() for event in page.events]))
    else:
        click.echo(f"no events of account {name}" + (f" after {after}" if after else ""))


async def _follow(container: Container, name: str, after: str | None, limit: int, *, as_json: bool) -> None:
    """Print the events after `after` as they are written: each page at once, then a read every second."""
    import asyncio

    from intwa.entrypoints.cli.event_rows import EventRow

    await _require_account(container, name)
    read_events = await resolve(container.read_events)
    if not as_json:
        click.echo(EventRow.line(EventRow.HEADERS))
    while True:
        page = await read_events(name, after, limit)
        for event in page.events:
            click.echo(event.document.decode() if as_json else EventRow.line(EventRow.of(event).cells()))
        after = page.next
        if len(page.events) < limit:
            await asyncio.sleep(FOLLOW_POLL_SECONDS)


async def _require_account(container: Container, name: str) -> None:
    """Fail with `AccountNotFound` first: an unknown NAME has no events rather than an empty list."""
    accounts = await resolve(container.accounts)
    await accounts.require(name)
