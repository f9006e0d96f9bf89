"""`intwa config ...`: the configuration, checked (SPEC §4)."""

from __future__ import annotations

import click

from intwa.entrypoints.cli.context import CliContext


@click.group("config")
def config() -> None:
    """Check and show the configuration."""


@config.command()
@click.pass_obj
def check(cli: CliContext) -> None:
    """Load and validate the configuration, then check storage, schema and provider; exit 1 on any problem.

    One line per finding, `ok: …` or `problem: …`; secrets are never printed. Nothing is created or migrated.
    """
    from intwa.entrypoints.cli.config_checks import check_configuration

    findings = check_configuration(cli, cli.load_settings())
    for finding in findings:
        click.echo(str(finding))
    if not all(finding.ok for finding in findings):
        raise click.exceptions.Exit(1)
