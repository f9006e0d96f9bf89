"""`intwa config ...`: the configuration as intwa reads it, checked and shown (SPEC §4, §5)."""

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


@config.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document, keyed like the TOML file.")
@click.pass_obj
def show(cli: CliContext, as_json: bool) -> None:
    """Print the effective configuration, secrets masked.

    The file, the defaults and the INTWA_* variables, as every command reads them; a secret shows as
    "***" when it is set and "" when it is not, a PostgreSQL DSN with its password as ***.
    """
    import msgspec

    from intwa.entrypoints.cli.render import toml_document
    from intwa.settings import masked_settings

    shown = masked_settings(cli.load_settings())
    click.echo(msgspec.json.encode(shown) if as_json else toml_document(shown), nl=as_json)
