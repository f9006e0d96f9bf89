"""The account endpoints' routes: what `CallHandlerDirectly` relies on when it skips Litestar's route handling."""

from __future__ import annotations

import inspect

import pytest
from litestar.handlers import HTTPRouteHandler

from intwa.entrypoints.http.account_api import AccountApi, CallHandlerDirectly, account_handlers
from tests.http.conftest import ACCOUNT, Api

HANDLERS = account_handlers(AccountApi())


@pytest.mark.parametrize("handler", HANDLERS, ids=lambda handler: handler.handler_name)
def test_an_account_handler_declares_nothing_that_litestars_route_handling_would_do_for_it(
    handler: HTTPRouteHandler,
) -> None:
    # The middleware calls the function with a request and sends its answer: a guard, a hook, a response
    # cache or a dependency the function asked for would be skipped silently, so none may be declared.
    assert list(inspect.signature(handler.fn).parameters) == ["request"]
    assert handler.guards is None or not list(handler.guards)
    assert handler.before_request is None
    assert handler.after_request is None
    assert handler.after_response is None
    assert not handler.cache
    assert set(handler.dependencies or {}) == {"documented_body"}  # documents the body; never resolved
    assert list(handler.middleware or ()) == [CallHandlerDirectly]


async def test_the_handlers_are_called_directly_yet_litestar_still_routes_and_refuses_methods(api: Api) -> None:
    answered = await api.post("wabaInfo", {"accountName": ACCOUNT})
    refused = await api.client.put("/intwa-api/whatsapp/account/wabaInfo", json={})

    assert answered.json() == {"code": 0, "message": "Success", "data": []}
    assert refused.status_code == 405
    assert "POST" in refused.headers["allow"]
    assert refused.json()["code"] == 40500


async def test_options_is_answered_by_litestar_without_a_key(api: Api) -> None:
    response = await api.client.options("/intwa-api/whatsapp/account/phoneInfo")

    assert response.status_code == 204
    assert "POST" in response.headers["allow"]
