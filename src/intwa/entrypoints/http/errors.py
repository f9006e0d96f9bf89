"""The one place where failures become envelopes (SPEC §3.1, §3.8)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
)
from litestar.types import ExceptionHandlersMap

from intwa.domain.errors import DomainError, ProviderUnavailable, RateLimited, StorageUnavailable
from intwa.entrypoints.http.access import ENVELOPE_CODE_KEY, request_id_of
from intwa.entrypoints.http.options import allow_header
from intwa.entrypoints.http.schemas import ErrorEnvelope

logger = logging.getLogger("intwa.http")

_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")

_HTTP_STATUS_CODES = {
    HTTP_400_BAD_REQUEST: (40000, "the body is not valid JSON"),
    HTTP_404_NOT_FOUND: (40400, "no such path"),
    HTTP_405_METHOD_NOT_ALLOWED: (40500, "method not allowed"),
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: (41300, "the request body is larger than the limit"),
}


def error_response(code: int, message: str, headers: dict[str, str] | None = None) -> Response[ErrorEnvelope]:
    """An envelope whose HTTP status is the first three digits of its code."""
    return Response(ErrorEnvelope(code=code, message=message), status_code=code // 100, headers=headers)


def domain_error_to_response(_: Request[Any, Any, Any], error: DomainError) -> Response[ErrorEnvelope]:
    headers = None
    if isinstance(error, ProviderUnavailable | RateLimited | StorageUnavailable):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return error_response(error.code, error.message, headers)


def http_exception_to_response(request: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorEnvelope]:
    if isinstance(error, ValidationException):
        return error_response(40000, _validation_message(error))
    code, message = _HTTP_STATUS_CODES.get(error.status_code, (0, ""))
    if not code:
        return unexpected_error_to_response(request, error)
    headers = None
    if code == 40400:
        message = f"no such path: {request.url.path}"
    elif code == 40500:
        message = f"method {request.method} is not allowed on {request.url.path}"
        # Litestar's `Allow: <the path's methods>` (RFC 9110 §15.5.6), in the order OPTIONS answers give it.
        allowed = (error.headers or {}).get("allow", "")
        headers = {"Allow": allow_header(method.strip() for method in allowed.split(",") if method.strip())}
    elif code == 41300:
        limit = request.route_handler.resolve_request_max_body_size()
        message = f"the request body is larger than {limit} bytes"
    return error_response(code, message, headers)


def unexpected_error_to_response(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorEnvelope]:
    """50000, whose message carries the request id (`X-Request-ID`) that the log lines of the request carry."""
    request_id = request_id_of(request.scope)
    logger.error(
        "unexpected error on %s %s (request id %s)",
        request.method,
        request.url.path,
        request_id,
        exc_info=error,
        extra={"request_id": request_id},
    )
    return error_response(50000, f"unexpected error; request id {request_id}")


def _validation_message(error: ValidationException) -> str:
    """One sentence naming the offending field, from the body decoder's error."""
    details = error.extra if isinstance(error.extra, list) else []
    for detail in details:
        if not isinstance(detail, dict):
            continue
        key = detail.get("key")
        reason = str(detail.get("message", ""))
        missing = _MISSING_FIELD.search(reason)
        if missing:
            return f"missing required field `{missing.group(1)}`"
        if key and key != "data":
            return f"`{key}` is invalid: {reason}"
    return "the body must be a JSON object"


_E = TypeVar("_E", bound=Exception)
_Handler = Callable[[Request[Any, Any, Any], _E], Response[ErrorEnvelope]]


def _noting_code(handler: _Handler[_E]) -> _Handler[_E]:
    """The handler, also leaving the envelope's code in the scope: the request log and metrics read it there."""

    def handle(request: Request[Any, Any, Any], error: _E) -> Response[ErrorEnvelope]:
        response = handler(request, error)
        request.scope[ENVELOPE_CODE_KEY] = response.content.code  # type: ignore[literal-required]
        return response

    return handle


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: _noting_code(domain_error_to_response),
    HTTPException: _noting_code(http_exception_to_response),
    Exception: _noting_code(unexpected_error_to_response),
}
