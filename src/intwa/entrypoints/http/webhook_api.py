"""Meta's webhooks at `/intwa-api/whatsapp/webhook` (SPEC §3.9): the handshake and signed event posts.

No API key here: Meta proves itself with the verify token (handshake) and the app secret's HMAC (posts).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Router, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import HeaderParameter, QueryParameter

from intwa.domain.errors import WebhookDisabled
from intwa.domain.webhooks.signature import SIGNATURE_HEADER, verify_signature, verify_subscription
from intwa.entrypoints.http.options import answer_options
from intwa.entrypoints.http.schemas import SUCCESS, ErrorEnvelope
from intwa.entrypoints.http.services import Services
from intwa.settings import WebhookSettings

logger = logging.getLogger("intwa.http")

WEBHOOK_PATH = "/intwa-api/whatsapp/webhook"


class WebhookAnswer(msgspec.Struct, kw_only=True):
    """What Meta gets for a post it signed: the changes are applied (or ignored) already."""

    code: int = 0
    message: str = SUCCESS
    data: None = None


@dataclass
class _SignedPostOperation(Operation):
    """The post's body is read raw (the signature covers its exact bytes), so it is described here."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={
                "application/json": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        description="A WhatsApp Business Account notification: `object` and `entry[].changes[]`.",
                    )
                )
            },
            required=True,
        )


class RequireAppSecret:
    """Guard: without an app secret no post can be verified, so the endpoint answers like an unknown path."""

    def __init__(self, settings: WebhookSettings) -> None:
        self._configured = bool(settings.app_secret)

    async def __call__(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not self._configured:
            logger.warning("a webhook request came, but `webhook.app_secret` is not configured")
            raise WebhookDisabled(f"no such path: {connection.url.path}")


def _errors(codes: dict[int, str]) -> dict[int, ResponseSpec]:
    """OpenAPI error responses: one error envelope per code, whose first three digits are the status."""
    return {
        code // 100: ResponseSpec(data_container=ErrorEnvelope, description=f"Error envelope ({code}): {what}")
        for code, what in codes.items()
    }


@get(
    "/",
    media_type=MediaType.TEXT,
    summary="Meta's webhook subscription handshake",
    responses=_errors(
        {
            40000: "a query parameter is malformed",
            40300: "the verify token does not match",
            40400: "no `webhook.app_secret` is configured",
            50000: "unexpected error",
        }
    ),
)
async def confirm_subscription(
    services: NamedDependency[Services],
    mode: Annotated[str | None, QueryParameter(name="hub.mode")] = None,
    token: Annotated[str | None, QueryParameter(name="hub.verify_token")] = None,
    challenge: Annotated[str | None, QueryParameter(name="hub.challenge")] = None,
) -> str:
    """Answer Meta's challenge as plain text when it presents `webhook.verify_token`."""
    verify_token = services.settings.webhook.verify_token.reveal()
    return verify_subscription(verify_token, mode, token, challenge)


@post(
    "/",
    status_code=200,
    summary="Meta's webhook events",
    operation_class=_SignedPostOperation,
    responses=_errors(
        {
            40000: "the body is not a JSON object",
            40100: f"no `{SIGNATURE_HEADER}` header",
            40300: f"`{SIGNATURE_HEADER}` does not match the body",
            40400: "no `webhook.app_secret` is configured",
            41300: "the body is larger than `server.max_body_bytes`",
            50000: "unexpected error",
            50301: "intwa's storage is unavailable; `Retry-After` is set, and Meta delivers the post again",
        }
    ),
)
async def receive_events(
    request: Request[Any, Any, Any],
    services: NamedDependency[Services],
    signature: Annotated[
        str | None,
        HeaderParameter(name=SIGNATURE_HEADER, description="`sha256=` and the hex HMAC-SHA256 of the raw body"),
    ] = None,
) -> WebhookAnswer:
    """Apply a signed notification; nothing is applied unless the signature is the body's HMAC.

    Refreshes from the provider that the events call for run after the answer.
    """
    body = await request.body()
    verify_signature(services.settings.webhook.app_secret.reveal(), body, signature)
    receipt = await services.apply_webhook(body)
    logger.debug("webhook applied: %d changes, %d ignored", receipt.applied, receipt.ignored)
    return WebhookAnswer()


def webhook_router(settings: WebhookSettings) -> Router:
    """The webhook's handlers and its `OPTIONS`, answering like an unknown path while no app secret is configured."""
    return Router(
        path=WEBHOOK_PATH,
        # OPTIONS first: Litestar gives a path a bare OPTIONS handler of its own unless one is there already.
        route_handlers=[answer_options("/"), confirm_subscription, receive_events],
        guards=[RequireAppSecret(settings)],
        tags=["webhook"],
    )
