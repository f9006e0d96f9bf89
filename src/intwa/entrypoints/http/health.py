"""Liveness and readiness probes (SPEC §3.1); neither needs a key."""

from __future__ import annotations

import asyncio
import logging

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.dependencies import container_of
from intwa.entrypoints.http.schemas import HealthStatus

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
async def readyz(state: State) -> Response[HealthStatus]:
    """200 when storage answers, 503 otherwise."""
    try:
        storage = await resolve(container_of(state).storage)
        await asyncio.wait_for(storage.ping(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:
        logger.warning("storage is not ready: %s", type(error).__name__)
        return Response(HealthStatus(status="unavailable"), status_code=503)
    return Response(HealthStatus(status="ok"), status_code=200)
