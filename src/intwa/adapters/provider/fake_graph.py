"""A fake of the Graph API endpoints that intwa uses, over `FakeGraphData`: for end-to-end runs and load tests.

It answers in Meta's documented shapes (see `tests/fixtures/graph/`): only the requested `fields`, short
pages chained by absolute `paging.next` URLs, and Graph error payloads for a bad token (190), an unknown
object (100/33) or a field the node lacks (100). `GET /_fake/calls` counts the calls a provider made.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from litestar import Litestar, Request, Response, delete, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery

from intwa.adapters.provider.fake_data import FakeGraphData, FakeWaba, graph_node_fields, load_fake_data
from intwa.adapters.provider.graph_nodes import GraphPhoneNumber, GraphWaba

__all__ = ["create_fake_graph_app", "load_fake_data"]

CALLS = ("fetch_waba", "fetch_phone_numbers", "subscribe_app")
GRAPH_DEFAULT_LIMIT = 25
_WABA_DEFAULT_FIELDS = ("id", "name")
_PHONE_NUMBER_DEFAULT_FIELDS = ("id", "display_phone_number", "verified_name", "quality_rating")

_GraphAnswer = Response[dict[str, Any]]


def create_fake_graph_app(data: FakeGraphData, *, access_token: str | None = None, page_size: int = 1) -> Litestar:
    """An ASGI app serving `data` like Graph serves WABAs (SPEC §6), under any API version.

    Args:
        data: the WABAs and phone numbers; read on every request, so changes to it show at once.
        access_token: the only bearer token accepted; None accepts any non-empty token.
        page_size: the most phone numbers per page, so that paging is exercised even with little data.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    calls: Counter[str] = Counter()

    def authorized_waba(request: Request[Any, Any, Any], waba_id: str) -> FakeWaba | _GraphAnswer:
        """The WABA, or Graph's error for a bad token (190) or an unknown object (100/33)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        accepted = access_token is None or hmac.compare_digest(token.encode(), access_token.encode())
        if scheme.lower() != "bearer" or not token or not accepted:
            return _graph_error(401, "Invalid OAuth access token - Cannot parse access token", 190)
        waba = data.waba(waba_id)
        return _object_missing(waba_id) if waba is None else waba

    @get("/healthz", sync_to_thread=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @get("/_fake/calls", sync_to_thread=False)
    def count_calls() -> dict[str, int]:
        return {name: calls[name] for name in CALLS}

    @delete("/_fake/calls", sync_to_thread=False)
    def reset_calls() -> None:
        calls.clear()

    @get("/{version:str}/{waba_id:str}", sync_to_thread=False)
    def waba_node(
        request: Request[Any, Any, Any], waba_id: FromPath[str], fields: FromQuery[str | None] = None
    ) -> _GraphAnswer:
        calls["fetch_waba"] += 1
        waba = authorized_waba(request, waba_id)
        if isinstance(waba, Response):
            return waba
        selected = _select_fields(fields, GraphWaba.__struct_fields__, _WABA_DEFAULT_FIELDS, "WhatsAppBusinessAccount")
        if isinstance(selected, Response):
            return selected
        return Response(_only(graph_node_fields(waba), selected))

    @get("/{version:str}/{waba_id:str}/phone_numbers", sync_to_thread=False)
    def phone_numbers_edge(
        request: Request[Any, Any, Any],
        waba_id: FromPath[str],
        fields: FromQuery[str | None] = None,
        limit: FromQuery[int] = GRAPH_DEFAULT_LIMIT,
        after: FromQuery[str | None] = None,
    ) -> _GraphAnswer:
        if after is None:
            calls["fetch_phone_numbers"] += 1
        waba = authorized_waba(request, waba_id)
        if isinstance(waba, Response):
            return waba
        selected = _select_fields(
            fields, GraphPhoneNumber.__struct_fields__, _PHONE_NUMBER_DEFAULT_FIELDS, "WhatsAppBusinessPhoneNumber"
        )
        if isinstance(selected, Response):
            return selected
        return _phone_numbers_page(request, waba, selected, size=max(1, min(limit, page_size)), after=after)

    @post("/{version:str}/{waba_id:str}/subscribed_apps", status_code=200, sync_to_thread=False)
    def subscribe_app(request: Request[Any, Any, Any], waba_id: FromPath[str]) -> _GraphAnswer:
        calls["subscribe_app"] += 1
        waba = authorized_waba(request, waba_id)
        return waba if isinstance(waba, Response) else Response({"success": True})

    return Litestar(
        route_handlers=[healthz, count_calls, reset_calls, waba_node, phone_numbers_edge, subscribe_app],
        exception_handlers={HTTPException: _http_exception_as_graph_error},
        openapi_config=None,
        logging_config=None,  # the server (uvicorn, a test) configures logging, not the app
    )


def _phone_numbers_page(
    request: Request[Any, Any, Any], waba: FakeWaba, selected: list[str], *, size: int, after: str | None
) -> _GraphAnswer:
    phones = waba.phone_numbers
    start = 0
    if after is not None:
        ids = [phone.id for phone in phones]
        after_id = _cursor_id(after)
        if after_id not in ids:
            return _graph_error(400, "(#100) The after cursor is not valid", 100)
        start = ids.index(after_id) + 1
    page = phones[start : start + size]
    body: dict[str, Any] = {"data": [_only(graph_node_fields(phone), selected) for phone in page]}
    if page:
        body["paging"] = {"cursors": {"before": _cursor(page[0].id), "after": _cursor(page[-1].id)}}
        if start + size < len(phones):
            query = {name: values[-1] for name, values in request.query_params.dict().items()}
            query["after"] = _cursor(page[-1].id)
            body["paging"]["next"] = str(request.url.with_replacements(query=urlencode(query)))
    return Response(body)


def _select_fields(
    requested: str | None, known: tuple[str, ...], default: tuple[str, ...], node_type: str
) -> list[str] | _GraphAnswer:
    """The fields to answer with (Graph always adds `id`), or error 100 for a field the node lacks."""
    names = [name.strip() for name in requested.split(",") if name.strip()] if requested else list(default)
    for name in names:
        if name not in known:
            message = f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})"
            return _graph_error(400, message, 100)
    return ["id", *(name for name in names if name != "id")]


def _only(node_fields: dict[str, Any], selected: list[str]) -> dict[str, Any]:
    return {name: node_fields[name] for name in selected if name in node_fields}


def _object_missing(object_id: str) -> _GraphAnswer:
    return _graph_error(
        400,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded due to missing "
        "permissions, or does not support this operation.",
        100,
        subcode=33,
        error_type="GraphMethodException",
    )


def _graph_error(
    status: int, message: str, code: int, *, subcode: int | None = None, error_type: str = "OAuthException"
) -> _GraphAnswer:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(16)
    return Response({"error": error}, status_code=status)


def _http_exception_as_graph_error(request: Request[Any, Any, Any], exc: HTTPException) -> _GraphAnswer:
    if isinstance(exc, NotFoundException):
        return _graph_error(400, f"Unknown path components: {request.url.path}", 2500)
    return _graph_error(400, f"(#100) {exc.detail}", 100)


def _cursor(phone_id: str) -> str:
    return base64.urlsafe_b64encode(phone_id.encode()).decode().rstrip("=")


def _cursor_id(cursor: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
