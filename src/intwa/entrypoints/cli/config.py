"""`intwa config ...`: the configuration as intwa reads it (SPEC §5)."""

from __future__ import annotations

import click

from intwa.entrypoints.cli.context import CliContext


@click.group()
def config() -> None:
    """Inspect the configuration."""


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
