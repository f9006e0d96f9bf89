"""Liveness and readiness probes (SPEC §3.1); neither needs a key."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import HttpMethod, Response, route
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from intwa.domain.errors import StorageUnavailable
from intwa.entrypoints.http.schemas import HealthStatus
from intwa.entrypoints.http.services import Services

logger = logging.getLogger("intwa.http")

READINESS_TIMEOUT_SECONDS = 2.0


def get_and_head(path: str, **options: Any) -> HTTPRouteHandler:
    """`GET path`, answering `HEAD` too: probes and scrapes may ask with it (SPEC §3.1).

    The server sends a `HEAD` the status and headers of the `GET` answer, without its body.
    """
    return route(path, http_method=[HttpMethod.GET, HttpMethod.HEAD], **options)


@get_and_head("/healthz", summary="Liveness", tags=["health"])
async def healthz() -> HealthStatus:
    """200 while the process runs (`HEAD`: the same answer without its body)."""
    return HealthStatus(status="ok")


@get_and_head(
    "/readyz",
    summary="Readiness",
    tags=["health"],
    responses={
        503: ResponseSpec(
            data_container=HealthStatus, description='Storage does not answer: `{"status":"unavailable"}`'
        )
    },
)
async def readyz(services: NamedDependency[Services]) -> Response[HealthStatus]:
    """200 when storage answers, 503 otherwise (`HEAD`: the same answer without its body)."""
    try:
        await asyncio.wait_for(services.storage.ping(), READINESS_TIMEOUT_SECONDS)
    except StorageUnavailable:
        # The store logged its outage once; probes come every few seconds and add nothing to it.
        return Response(HealthStatus(status="unavailable"), status_code=503)
    except Exception as error:
        logger.warning("storage is not ready: %s", type(error).__name__)
        return Response(HealthStatus(status="unavailable"), status_code=503)
    return Response(HealthStatus(status="ok"), status_code=200)
