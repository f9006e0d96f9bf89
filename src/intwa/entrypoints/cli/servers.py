"""The long-running commands: the HTTP API, and a fake Graph API for local end-to-end runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from intwa.entrypoints.cli.context import CliContext
from intwa.entrypoints.cli.database import migrate_storage
from intwa.entrypoints.cli.errors import CommandFailed

if TYPE_CHECKING:
    from intwa.settings import Settings

HTTP_APP_FACTORY = "intwa.entrypoints.http.app:create_app_from_env"


@click.command()
@click.option("--host", help="Address to listen on.  [default: server.host]")
@click.option("--port", type=click.IntRange(1, 65535), help="Port to listen on.  [default: server.port]")
@click.option("--workers", type=click.IntRange(min=1), help="Worker processes.  [default: server.workers]")
@click.pass_obj
def serve(cli: CliContext, host: str | None, port: int | None, workers: int | None) -> None:
    """Migrate the database, then serve the HTTP API."""
    import msgspec

    settings = cli.load_settings()
    require_provider_credentials(settings)
    overrides = {
        key: value for key, value in {"host": host, "port": port, "workers": workers}.items() if value is not None
    }
    server = msgspec.structs.replace(settings.server, **overrides)
    # Before migrating: a server that cannot start leaves the database as it found it.
    _require_listening(server.host, server.port)
    cli.run(migrate_storage, settings, migrates=True)

    # Every worker builds its own app from the environment, so they all load these same settings.
    if cli.config_path:
        os.environ["INTWA_CONFIG"] = os.path.abspath(cli.config_path)
    for key, value in overrides.items():
        os.environ[f"INTWA_SERVER__{key.upper()}"] = str(value)

    import uvicorn

    from intwa.entrypoints.http.server_protocol import uvicorn_options

    click.echo(f"intwa: serving the HTTP API on http://{server.host}:{server.port} with {server.workers} worker(s)")
    uvicorn.run(HTTP_APP_FACTORY, factory=True, log_level=settings.logging.level.lower(), **uvicorn_options(server))


def require_provider_credentials(settings: Settings) -> None:
    """`SettingsError`, saying how to set one or use the fake, when the Graph provider has no access token."""
    from intwa.settings import SettingsError

    if settings.provider.backend == "graph" and not settings.graph.access_token:
        raise SettingsError(
            "the Graph provider needs an access token: set INTWA_GRAPH__ACCESS_TOKEN, "
            'or use provider.backend = "fake" (e.g. --config config/dev.toml)'
        )


def _require_listening(host: str, port: int) -> None:
    """`CommandFailed` when uvicorn could not listen on `host:port` (in use, not allowed, no such address).

    Binds as uvicorn binds (the address family from the host, `SO_REUSEADDR`), then lets go of the port.
    """
    import socket

    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = error.strerror or type(error).__name__
            raise CommandFailed(f"cannot listen on {where}: {reason[:1].lower()}{reason[1:]}") from None


@click.command("fake-graph")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8081, show_default=True, help="Port to listen on.")
@click.option("--data", "data_path", help="Fake data JSON file.  [default: provider.fake_data, else built-in demo]")
@click.pass_obj
def fake_graph(cli: CliContext, host: str, port: int, data_path: str | None) -> None:
    """Serve a fake Graph API for local runs.

    It fakes the Graph endpoints that intwa uses, for end-to-end runs and load tests. It accepts
    `graph.access_token` as bearer token when one is set, else any non-empty token.
    """
    settings = cli.load_settings()
    from intwa.adapters.provider.fake_data import load_fake_data
    from intwa.adapters.provider.fake_graph import create_fake_graph_app

    data = load_fake_data(settings.provider.fake_data if data_path is None else data_path)
    _require_listening(host, port)
    app = create_fake_graph_app(data, access_token=settings.graph.access_token.reveal() or None)

    import uvicorn

    click.echo(f"intwa: serving a fake Graph API on http://{host}:{port} (set graph.base_url to it)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=settings.logging.level.lower(),
        http="httptools",
        loop="uvloop",
        lifespan="on",
        access_log=False,
    )
