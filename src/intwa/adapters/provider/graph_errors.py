"""Graph error payloads translated into domain errors (SPEC §6): decided by `error.code`, not HTTP status.

Meta sends HTTP statuses loosely (code 4 with 400 or 429, 190 with 400 or 401), so the status only
decides when the payload names no known code.
"""

from __future__ import annotations

import msgspec

from intwa.domain.errors import (
    DomainError,
    ProviderCredentialsRejected,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    WabaNotAccessible,
)

CREDENTIALS_REJECTED_CODES = frozenset({0, 190})
NOT_SHARED_CODES = frozenset({10, *range(200, 300)})
NOT_FOUND_CODES = frozenset({803})
RATE_LIMITED_CODES = frozenset({4, 17, 32, 613, 80007, 80008})
UNAVAILABLE_CODES = frozenset({1, 2})
_OBJECT_DOES_NOT_EXIST = (100, 33)
_LONGEST_MESSAGE = 200


class GraphErrorDetail(msgspec.Struct, frozen=True):
    """The `error` object of a Graph error payload; unknown keys are ignored."""

    message: str = ""
    type: str = ""
    code: int | None = None
    error_subcode: int | None = None
    is_transient: bool = False
    fbtrace_id: str | None = None

    def describe(self) -> str:
        code = "without a code" if self.code is None else str(self.code)
        return f"Graph error {code}" + (f"/{self.error_subcode}" if self.error_subcode is not None else "")


class _GraphErrorPayload(msgspec.Struct, frozen=True):
    error: GraphErrorDetail


def decode_graph_error(content: bytes) -> GraphErrorDetail | None:
    """The error in a Graph answer, or None when the body is not a Graph error payload."""
    try:
        return msgspec.json.decode(content, type=_GraphErrorPayload).error
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def graph_error(status: int, content: bytes, waba_id: str) -> DomainError:
    """The domain error for a Graph answer that is not a success."""
    detail = decode_graph_error(content)
    if detail is not None:
        return translate_graph_error(detail, status, waba_id)
    if status >= 500:
        return ProviderUnavailable(f"Graph API is unavailable (HTTP {status})")
    return ProviderError(f"Graph API answered HTTP {status} without a Graph error payload")


def translate_graph_error(detail: GraphErrorDetail, status: int, waba_id: str) -> DomainError:
    """The domain error that a Graph error means for a call about `waba_id`."""
    code, trace_id, described = detail.code, detail.fbtrace_id, detail.describe()
    if code in CREDENTIALS_REJECTED_CODES:
        message = f"Meta rejected the platform's access token ({described})"
        return ProviderCredentialsRejected(message, trace_id=trace_id)
    if code in NOT_SHARED_CODES:
        return WabaNotAccessible(f"WABA `{waba_id}` is not shared with the platform ({described})")
    if code in NOT_FOUND_CODES or (code, detail.error_subcode) == _OBJECT_DOES_NOT_EXIST:
        return WabaNotAccessible(f"WABA `{waba_id}` does not exist or is not shared with the platform ({described})")
    traced = f"{described}{_trace(trace_id)}"
    if code in RATE_LIMITED_CODES:
        return ProviderRateLimited(f"Meta is rate-limiting calls about WABA `{waba_id}` ({traced})")
    if code in UNAVAILABLE_CODES or detail.is_transient or status >= 500:
        return ProviderUnavailable(f"Meta is unavailable ({traced})")
    said = f"{described}: {detail.message[:_LONGEST_MESSAGE]}" if detail.message else described
    return ProviderError(f"Meta answered an unexpected error about WABA `{waba_id}` ({said})", trace_id=trace_id)


def _trace(trace_id: str | None) -> str:
    return f" (fbtrace_id {trace_id})" if trace_id else ""
