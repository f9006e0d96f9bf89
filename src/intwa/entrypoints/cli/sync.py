"""`intwa sync [NAME]`: refresh the snapshots of bound WABAs from the provider now."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext, closing_refreshes, json_option
from intwa.entrypoints.composition import resolve

if TYPE_CHECKING:
    from intwa.container import Container
    from intwa.domain.sync import SyncOutcome, SyncReport


@click.command()
@click.argument("name", required=False)
@json_option
@click.pass_obj
def sync(cli: CliContext, name: str | None, as_json: bool) -> None:
    """Refresh the WABAs of one account, or every bound WABA, from the provider now.

    Changes are recorded in the history with source `sync`. A WABA whose refresh fails is reported and
    the others go on; the exit code is then 1.
    """
    from intwa.entrypoints.cli import render

    with _progress_bar(enabled=not as_json and sys.stderr.isatty()) as (on_start, on_progress):

        async def command(container: Container) -> SyncReport:
            sync_wabas = await resolve(container.sync_wabas)
            return await closing_refreshes(container, sync_wabas(name, on_start=on_start, on_progress=on_progress))

        report = cli.run(command)

    render.show_sync_report(report, as_json=as_json)
    if report.failed:
        raise click.exceptions.Exit(1)


_Hooks = tuple[Callable[[int], None] | None, Callable[["SyncOutcome"], None] | None]


@contextmanager
def _progress_bar(*, enabled: bool) -> Iterator[_Hooks]:
    """A rich progress bar on stderr, fed by the use case's hooks; no hooks when not on a terminal."""
    if not enabled:
        yield None, None
        return
    # rich is imported only here: `intwa --help` and scripted runs never load it.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("syncing WABAs"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("sync", total=None)

    def on_start(total: int) -> None:
        progress.update(task, total=total)

    def on_progress(_: SyncOutcome) -> None:
        progress.advance(task)

    with progress:
        yield on_start, on_progress
