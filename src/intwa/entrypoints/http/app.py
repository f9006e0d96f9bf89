"""The Litestar application: routes, the error envelope, OpenAPI, and the container's lifespan."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from intwa import __version__
from intwa.container import Container, build_container
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.access import AccessMiddleware, HttpStats
from intwa.entrypoints.http.account_api import AccountApi, account_handlers
from intwa.entrypoints.http.errors import EXCEPTION_HANDLERS
from intwa.entrypoints.http.health import healthz, readyz
from intwa.entrypoints.http.metrics import HTTP_STATS_KEY, metrics
from intwa.entrypoints.http.webhook_api import webhook_router
from intwa.entrypoints.logs import configure_logging
from intwa.settings import load_settings


def create_app(container: Container) -> Litestar:
    """The HTTP API over this container; the container's resources close with the app."""
    settings = container.settings()

    account_api = AccountApi()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Open the database and the provider's client now, not on the first request.
        await resolve(container.storage)
        await resolve(container.provider)
        await account_api.start(container)
        # What start-up allocated lives as long as the process: moved out of the collector's way, so that
        # the collections that requests trigger stay short (measured: about a tenth of a cached request).
        gc.collect()
        gc.freeze()
        background_sync = await resolve(container.background_sync)
        background_sync.start()
        apply_webhook = await resolve(container.apply_webhook)
        try:
            yield
        finally:
            # The loop may be mid-refresh: it must end before the database and the client close.
            await background_sync.stop()
            await apply_webhook.close()  # refreshes that webhooks started
            await (await resolve(container.snapshots)).close()
            await resolve(container.shutdown_resources)

    http_stats = HttpStats()
    app = Litestar(
        route_handlers=[*account_handlers(account_api), webhook_router, healthz, readyz, metrics],
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.server.max_body_bytes,
        state=State({"container": container, HTTP_STATS_KEY: http_stats}),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="intwa",
            version=__version__,
            description="WhatsApp account gateway: bind WABAs and phone numbers, read their state.",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(path="/")],
            components=Components(
                security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer")},
            ),
        ),
        debug=False,
        logging_config=None,  # logging is intwa's own (`configure_logging`), not Litestar's default
    )
    # Around Litestar's router and its exception handling, not per route: unknown paths are seen too.
    app.asgi_handler = AccessMiddleware(app.asgi_handler, http_stats)
    return app


def create_app_from_env() -> Litestar:
    """Factory for uvicorn: settings from `INTWA_CONFIG` and the environment."""
    settings = load_settings(os.environ.get("INTWA_CONFIG") or None)
    configure_logging(settings.logging)
    return create_app(build_container(settings))
