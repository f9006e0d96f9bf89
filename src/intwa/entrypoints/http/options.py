"""`OPTIONS` on the API's paths, and the `Allow` header that it and every 405 carry (SPEC §3.1).

Every answer under `/intwa-api/` is the envelope; Litestar's own answer to `OPTIONS` is a bare 204, so
each API path declares this handler instead: 200, the success envelope with `data` null, and `Allow`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request, Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute

from intwa.entrypoints.http.schemas import SUCCESS


class NoData(msgspec.Struct, kw_only=True):
    """The success envelope of an answer that has nothing to return."""

    code: int = 0
    message: str = SUCCESS
    data: None = None


def answer_options(*paths: str) -> HTTPRouteHandler:
    """`OPTIONS` on these paths: 200, the success envelope, and `Allow` naming the methods of the path."""

    @route(
        list(paths),
        http_method=[HttpMethod.OPTIONS],
        status_code=200,
        include_in_schema=False,
        sync_to_thread=False,
    )
    def options(request: Request[Any, Any, Any]) -> Response[NoData]:
        """What the path allows, in the `Allow` header."""
        return Response(NoData(), headers={"Allow": allow_header(_route_methods(request))})

    return options


def allow_header(methods: Iterable[str]) -> str:
    """The `Allow` header's value: the methods, sorted, so that OPTIONS and 405 answers read alike."""
    return ", ".join(sorted(methods))


def _route_methods(request: Request[Any, Any, Any]) -> set[str]:
    template = request.scope["path_template"]  # set by Litestar's router
    return next(
        {str(method) for method in each.methods}
        for each in request.app.routes
        if isinstance(each, HTTPRoute) and each.path == template
    )
