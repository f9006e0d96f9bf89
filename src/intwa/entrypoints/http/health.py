"""Liveness and readiness probes (SPEC §3.1); neither needs a key."""

from __future__ import annotations

import asyncio
import logging

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from intwa.domain.errors import StorageUnavailable
from intwa.entrypoints.http.schemas import HealthStatus
from intwa.entrypoints.http.services import Services

logger = logging.getLogger("intwa.http")

READINESS_TIMEOUT_SECONDS = 2.0


@get("/healthz", summary="Liveness", tags=["health"])
async def healthz() -> HealthStatus:
    """200 while the process runs."""
    return HealthStatus(status="ok")


@get(
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
    """200 when storage answers, 503 otherwise."""
    try:
        await asyncio.wait_for(services.storage.ping(), READINESS_TIMEOUT_SECONDS)
    except StorageUnavailable:
        # The store logged its outage once; probes come every few seconds and add nothing to it.
        return Response(HealthStatus(status="unavailable"), status_code=503)
    except Exception as error:
        logger.warning("storage is not ready: %s", type(error).__name__)
        return Response(HealthStatus(status="unavailable"), status_code=503)
    return Response(HealthStatus(status="ok"), status_code=200)
