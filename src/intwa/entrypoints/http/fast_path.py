"""The fast path of the account endpoints: handlers called by a route middleware, answers sent as raw ASGI.

Litestar's own handling of a route — building the handler's arguments through its signature model, an
exit stack for dependency clean-up, turning the return value into a response — cost about a third of a
cached phoneInfo request (docs/benchmarks.md). A directly served handler needs none of it, and this
module is where that shortcut lives, with what it assumes:

- Litestar sets `scope["route_handler"]` to the matched `HTTPRouteHandler` and keeps the function it
  decorates in `handler.fn`; neither is public API, so `litestar` is bound below 3 in pyproject.toml and
  `tests/http/test_fast_path.py` breaks when either changes.
- The route middleware is the innermost of the route's declared middleware but wraps everything else
  Litestar does per route: guards, hooks, dependencies, layered parameters, response headers and cookies,
  DTOs, type encoders, the response cache, CSRF, compression and allowed hosts are all skipped for these
  routes. `verify_served_directly` looks at what every layer resolves to when the app is created and
  refuses to start when any of them is set, instead of skipping it silently.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from litestar import Litestar, Request, post
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import JSONBody
from litestar.response.base import ASGIResponse
from litestar.types import AnyCallable, ASGIApp, Receive, Scope, Send

from intwa.entrypoints.http.schemas import ErrorEnvelope

DOCUMENTED_BODY = "documented_body"
"""The dependency that only documents a directly served handler's body in OpenAPI; it is never resolved."""
HANDLER_PARAMETERS = ("request", "services")
"""What a directly served handler takes, by name: the request, and the app's `services` dependency."""
ALWAYS_DOCUMENTED_CODES = (40000, 40100, 40300, 41300, 42900, 50000, 50301)
"""Error codes every account endpoint can answer (SPEC §3.8); each reads the store to authenticate."""

_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


class FastPathMisconfigured(RuntimeError):
    """A directly served handler has something set that the fast path would skip: the app must not start."""


class JsonAnswer(ASGIResponse):
    """A 200 JSON answer sent as two ASGI messages, without Litestar's header and cookie machinery.

    On the cached read endpoints building a general response cost a tenth of the request.
    """

    __slots__ = ("_answer",)

    def __init__(self, body: bytes) -> None:  # the parent's fields are not used
        self._answer = body

    @classmethod
    def of(cls, envelope: msgspec.Struct) -> JsonAnswer:
        """The envelope, encoded once by msgspec."""
        return cls(_encode(envelope))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [_JSON, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})


class CallHandlerDirectly:
    """Route middleware of the directly served endpoints: calls the route's handler and sends its answer.

    It passes the handler what Litestar would: the request, and the value of the app's `services`
    dependency (`Provide` of a plain function that always answers the same object, so it is asked once).
    Litestar places this middleware between its router and the route, so routing (404, 405), the
    exception handlers and the app's middleware stay Litestar's; the route behind it (`app`) is not
    called. The handlers do not depend on it: without it Litestar would call them with the same
    arguments, only slower.
    """

    __slots__ = ("_app", "_services")

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._services: Any = None  # the app's one `services` value, asked on the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler: HTTPRouteHandler = scope["route_handler"]  # type: ignore[assignment]  # set by the router
        services = self._services
        if services is None:
            services = self._services = handler.resolve_dependencies()["services"].dependency()
        answer: JsonAnswer = await handler.fn(request=Request(scope, receive, send), services=services)
        await answer(scope, receive, send)


def responses(
    success: type[Any], codes: Iterable[int], examples: list[Example] | None = None
) -> dict[int, ResponseSpec]:
    """OpenAPI responses: the success envelope (with `examples` of it), and one error envelope per HTTP status.

    Directly served handlers answer with ready-made `JsonAnswer`s, so the success body is documented here.
    """
    by_status: dict[int, list[int]] = {}
    for code in (*ALWAYS_DOCUMENTED_CODES, *codes):
        by_status.setdefault(code // 100, []).append(code)
    # The success bodies' examples are their fields' own (`views.py`), not random ones Litestar would make up.
    documented = {
        200: ResponseSpec(
            data_container=success, description="Success: `code` 0", generate_examples=False, examples=examples
        )
    }
    for status, codes_ in sorted(by_status.items()):
        documented[status] = ResponseSpec(
            data_container=ErrorEnvelope,
            description="Error envelope; `code` is one of " + ", ".join(str(c) for c in sorted(codes_)),
        )
    return documented


def document_body(body_type: type[Any]) -> dict[str, Provide]:
    """A dependency that only documents the request body in OpenAPI: the handlers never ask for it.

    Litestar takes an operation's request body from a `data` parameter of the handler or of one of its
    dependencies; directly served handlers decode their bodies themselves, after authentication.
    """

    def body(data: Any) -> Any:
        return data

    # Set here, not written: the module's annotations are strings, and `body_type` is a local name.
    body.__annotations__ = {"data": JSONBody[body_type], "return": body_type}  # type: ignore[misc,valid-type]

    return {DOCUMENTED_BODY: Provide(body, sync_to_thread=False)}


def served_directly(
    path: str,
    *,
    summary: str,
    body_type: type[Any],
    success: type[Any],
    codes: Iterable[int],
    security: list[dict[str, list[str]]],
    tags: list[str],
    examples: list[Example] | None = None,
    description: str | None = None,
) -> Callable[[AnyCallable], HTTPRouteHandler]:
    """`POST path`, served by `CallHandlerDirectly`: its body, success and error envelopes documented."""
    return post(
        path,
        status_code=200,
        summary=summary,
        description=description,
        responses=responses(success, codes, examples),
        dependencies=document_body(body_type),
        security=security,
        tags=tags,
        middleware=[CallHandlerDirectly],
    )


def verify_served_directly(app: Litestar) -> None:
    """Refuse an app in which a directly served handler has anything set that the fast path would skip.

    What counts is the resolved value, over every layer (app, routers, controllers, handler), so an
    app-level guard, hook or header added later stops the start instead of being ignored on these routes.
    """
    for handler in _directly_served(app):
        problems = _skipped_settings(app, handler)
        if problems:
            raise FastPathMisconfigured(
                f"{handler.handler_name} ({', '.join(sorted(handler.paths))}) is served directly by "
                f"CallHandlerDirectly, which would skip: {'; '.join(problems)}"
            )


def _directly_served(app: Litestar) -> list[HTTPRouteHandler]:
    return [
        handler
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler) and CallHandlerDirectly in _middleware_classes(handler)
    ]


def _middleware_classes(handler: HTTPRouteHandler) -> list[Any]:
    """The route's middleware, innermost first (`DefineMiddleware` by the class it defines)."""
    return [getattr(middleware, "middleware", middleware) for middleware in handler.resolve_middleware()]


def _skipped_settings(app: Litestar, handler: HTTPRouteHandler) -> list[str]:
    layers = handler.ownership_layers
    found = {
        "guards": handler.resolve_guards(),
        "before_request": handler.resolve_before_request(),
        "after_request": [layer.after_request for layer in layers if getattr(layer, "after_request", None)],
        "after_response": handler.resolve_after_response(),
        "response_headers": handler.resolve_response_headers(),
        "response_cookies": handler.resolve_response_cookies(),
        "parameters": handler.resolve_layered_parameters(),
        "type_encoders": handler.resolve_type_encoders(),
        "dto": handler.resolve_data_dto(),
        "return_dto": handler.resolve_return_dto(),
        "cache": handler.cache,
        "csrf_config": app.csrf_config,
        "compression_config": app.compression_config,
        "allowed_hosts": app.allowed_hosts,
    }
    problems = [name for name, value in found.items() if value]
    dependencies = set(handler.resolve_dependencies()) - {DOCUMENTED_BODY, "services"}
    if dependencies:
        problems.append(f"dependencies {sorted(dependencies)}")
    if handler.resolve_request_class() is not Request:
        problems.append("request_class")
    if _middleware_classes(handler)[0] is not CallHandlerDirectly:
        problems.append("route middleware inside CallHandlerDirectly")
    parameters = tuple(inspect.signature(handler.fn).parameters)
    if parameters != HANDLER_PARAMETERS:
        problems.append(f"parameters {parameters} instead of {HANDLER_PARAMETERS}")
    return problems
