"""The account endpoints' fast path: what `CallHandlerDirectly` relies on, checked when the app is created."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, post
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from intwa.container import Container
from intwa.entrypoints.http import account_api
from intwa.entrypoints.http.app import create_app
from intwa.entrypoints.http.fast_path import CallHandlerDirectly, FastPathMisconfigured, JsonAnswer
from tests.http.conftest import ACCOUNT, Api


async def _guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """A guard that would refuse nothing; the fast path would skip it all the same."""


async def _hook(request: Request[Any, Any, Any]) -> None:
    """A before-request hook; the fast path would skip it."""


def _extra_dependency() -> int:
    return 1


# Each of these, set on the app, would be skipped on the account endpoints without a word.
APP_LEVEL_SETTINGS: dict[str, dict[str, Any]] = {
    "guards": {"guards": [_guard]},
    "before_request": {"before_request": _hook},
    "after_request": {"after_request": _hook},
    "after_response": {"after_response": _hook},
    "response_headers": {"response_headers": [ResponseHeader(name="X-Frame-Options", value="DENY")]},
    "csrf_config": {"csrf_config": CSRFConfig(secret="not-a-real-secret-but-long-enough")},
    "compression_config": {"compression_config": CompressionConfig(backend="gzip")},
    "allowed_hosts": {"allowed_hosts": AllowedHostsConfig(allowed_hosts=["example.com"])},
    "dependencies": {"parameters": {}, "dependencies": {"extra": Provide(_extra_dependency, sync_to_thread=False)}},
}


async def test_every_account_endpoint_is_served_directly_by_a_named_function(container: Container) -> None:
    app = create_app(container)
    served = {
        handler.paths.pop(): handler.fn
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if isinstance(handler, HTTPRouteHandler) and CallHandlerDirectly in (handler.middleware or ())
    }

    assert served == {
        "/intwa-api/whatsapp/account/bind": account_api.bind,
        "/intwa-api/whatsapp/account/unbind": account_api.unbind,
        "/intwa-api/whatsapp/account/phoneInfo": account_api.phone_info,
        "/intwa-api/whatsapp/account/wabaInfo": account_api.waba_info,
        "/intwa-api/whatsapp/account/events": account_api.events,
    }
    assert [fn.__qualname__ for fn in served.values()] == ["bind", "unbind", "phone_info", "waba_info", "events"]


@pytest.mark.parametrize("setting", APP_LEVEL_SETTINGS, ids=str)
def test_the_app_refuses_to_start_with_an_app_level_setting_the_fast_path_would_skip(
    container: Container, setting: str
) -> None:
    options = APP_LEVEL_SETTINGS[setting]

    with pytest.raises(FastPathMisconfigured, match=setting.split("_config")[0]) as refused:
        create_app(container, **options)

    assert "CallHandlerDirectly" in str(refused.value)


def test_the_app_refuses_a_route_middleware_that_would_run_inside_the_fast_path(container: Container) -> None:
    class Inner:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await self.app(scope, receive, send)

    handler = post("/intwa-api/whatsapp/account/extra", middleware=[CallHandlerDirectly, Inner])(account_api.bind)

    with pytest.raises(FastPathMisconfigured, match="inside CallHandlerDirectly"):
        create_app(container, route_handlers=[handler])  # type: ignore[call-arg]


async def test_litestar_still_names_the_matched_handler_and_its_function_in_the_scope() -> None:
    # The seams the fast path relies on, which are not Litestar's public API: if this test fails after a
    # Litestar upgrade, `CallHandlerDirectly` must change with it.
    seen: dict[str, Any] = {}

    class Record:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            seen["handler"] = scope["route_handler"]  # type: ignore[typeddict-item]
            await JsonAnswer(b"{}")(scope, receive, send)

    async def answer(request: Request[Any, Any, Any]) -> None:
        """Never called: the middleware answers."""

    handler = post("/seam", middleware=[Record])(answer)
    async with AsyncTestClient(app=Litestar(route_handlers=[handler])) as client:
        response = await client.post("/seam")

    assert response.status_code == 200
    assert response.json() == {}
    assert isinstance(seen["handler"], HTTPRouteHandler)
    assert seen["handler"].fn is answer
    assert seen["handler"].resolve_middleware() == [Record]


async def test_the_handlers_are_called_directly_yet_litestar_still_routes_and_refuses_methods(api: Api) -> None:
    answered = await api.post("wabaInfo", {"accountName": ACCOUNT})
    refused = await api.client.put("/intwa-api/whatsapp/account/wabaInfo", json={})

    assert answered.json() == {"code": 0, "message": "Success", "data": []}
    assert refused.status_code == 405
    assert "POST" in refused.headers["allow"]
    assert refused.json()["code"] == 40500


async def test_options_is_answered_with_the_envelope_without_a_key(api: Api) -> None:
    response = await api.client.options("/intwa-api/whatsapp/account/phoneInfo")

    assert response.status_code == 200
    assert response.json() == {"code": 0, "message": "Success", "data": None}
    assert response.headers["allow"] == "OPTIONS, POST"
