"""The Litestar application: routes, the error envelope, OpenAPI, and the container's lifespan."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from intwa import __version__
from intwa.container import Container, build_container
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.access import AccessMiddleware
from intwa.entrypoints.http.account_api import account_handlers
from intwa.entrypoints.http.callback_api import callback_handlers
from intwa.entrypoints.http.errors import EXCEPTION_HANDLERS
from intwa.entrypoints.http.fast_path import verify_served_directly
from intwa.entrypoints.http.health import healthz, readyz
from intwa.entrypoints.http.metrics import metrics
from intwa.entrypoints.http.services import Services
from intwa.entrypoints.http.webhook_api import webhook_router
from intwa.entrypoints.logs import configure_logging
from intwa.settings import load_settings


def create_app(container: Container, **options: Any) -> Litestar:
    """The HTTP API over this container; the container's resources close with the app.

    `options` are further `Litestar` arguments (a deployment's own middleware, say; `route_handlers` and
    `dependencies` are added to intwa's own). The app refuses to be created when one of them would be
    skipped on the account endpoints' fast path (`fast_path.py`).
    """
    settings = container.settings()
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Open the database and the provider's client now, not on the first request.
        await resolve(container.provider)
        await services.start(container)
        # What start-up allocated lives as long as the process: moved out of the collector's way, so that
        # the collections that requests trigger stay short (measured: about a tenth of a cached request).
        gc.collect()
        gc.freeze()
        services.background_sync.start()
        services.dispatch_deliveries.start()
        try:
            yield
        finally:
            # The loops may be mid-refresh or mid-delivery: they must end before the database and clients close.
            await services.dispatch_deliveries.stop()
            await services.background_sync.stop()
            await services.apply_webhook.close()  # refreshes that webhooks started
            await services.snapshots.close()
            await resolve(container.shutdown_resources)

    app = Litestar(
        route_handlers=[
            *account_handlers(),
            *callback_handlers(),
            webhook_router(settings.webhook),
            healthz,
            readyz,
            metrics,
            *options.pop("route_handlers", ()),
        ],
        dependencies={**services.dependency(), **options.pop("dependencies", {})},
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=settings.server.max_body_bytes,
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
        **options,
    )
    verify_served_directly(app)
    # Around Litestar's router and its exception handling, not per route: unknown paths are seen too.
    app.asgi_handler = AccessMiddleware(app.asgi_handler, services.http_stats)
    return app


def create_app_from_env() -> Litestar:
    """Factory for uvicorn: settings from `INTWA_CONFIG` and the environment."""
    settings = load_settings(os.environ.get("INTWA_CONFIG") or None)
    configure_logging(settings.logging)
    return create_app(build_container(settings))
