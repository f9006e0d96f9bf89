"""The one place where failures become envelopes (SPEC §3.1, §3.8)."""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_405_METHOD_NOT_ALLOWED,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
)
from litestar.types import ExceptionHandlersMap

from intwa.domain.errors import DomainError, ProviderUnavailable
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
    if isinstance(error, ProviderUnavailable):
        headers = {"Retry-After": str(error.retry_after_seconds)}
    return error_response(error.code, error.message, headers)


def http_exception_to_response(request: Request[Any, Any, Any], error: HTTPException) -> Response[ErrorEnvelope]:
    if isinstance(error, ValidationException):
        return error_response(40000, _validation_message(error))
    code, message = _HTTP_STATUS_CODES.get(error.status_code, (0, ""))
    if not code:
        return unexpected_error_to_response(request, error)
    if code == 40400:
        message = f"no such path: {request.url.path}"
    elif code == 40500:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif code == 41300:
        limit = request.route_handler.resolve_request_max_body_size()
        message = f"the request body is larger than {limit} bytes"
    return error_response(code, message)


def unexpected_error_to_response(request: Request[Any, Any, Any], error: Exception) -> Response[ErrorEnvelope]:
    correlation_id = uuid.uuid4().hex
    logger.error(
        "unexpected error on %s %s (correlation id %s)",
        request.method,
        request.url.path,
        correlation_id,
        exc_info=error,
    )
    return error_response(50000, f"unexpected error; correlation id {correlation_id}")


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


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_to_response,
    HTTPException: http_exception_to_response,
    Exception: unexpected_error_to_response,
}
