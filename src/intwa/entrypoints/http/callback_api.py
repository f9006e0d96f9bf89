"""The customers' callback endpoints under `/intwa-api/whatsapp/account/` (SPEC §3.10), served by the fast path.

The same key, envelope, body and error rules as the other account endpoints (`account_api.py`).
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler

from intwa.entrypoints.callback_views import CallbackInfoView, CallbackTestView, CallbackView
from intwa.entrypoints.http.account_api import account_endpoint, authorized, with_options
from intwa.entrypoints.http.fast_path import JsonAnswer
from intwa.entrypoints.http.schemas import (
    CallbackDeleteRequest,
    CallbackEnvelope,
    CallbackInfoEnvelope,
    CallbackInfoRequest,
    CallbackSetRequest,
    CallbackTestEnvelope,
    CallbackTestRequest,
)
from intwa.entrypoints.http.services import Services


async def callback_set(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Set the account's callback URL and event types; the first time, and with `rotateSecret`, a new secret."""
    data = await authorized(request, services, CallbackSetRequest)
    new = await services.set_callback(data.account_name, data.url, data.types, rotate_secret=data.rotate_secret)
    return JsonAnswer.of(CallbackEnvelope(data=CallbackView.of(new)))


async def callback_info(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """The account's callback without its secret, and how its deliveries stand."""
    data = await authorized(request, services, CallbackInfoRequest)
    report = await services.show_callback(data.account_name)
    return JsonAnswer.of(CallbackInfoEnvelope(data=CallbackInfoView.of(report)))


async def callback_delete(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Delete the account's callback; its pending deliveries end failed."""
    data = await authorized(request, services, CallbackDeleteRequest)
    deleted = await services.delete_callback(data.account_name)
    return JsonAnswer.of(CallbackEnvelope(data=CallbackView.without_secret(deleted)))


async def callback_test(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Send a `test.ping` to the account's callback now and answer how it went (200 whatever the receiver did)."""
    data = await authorized(request, services, CallbackTestRequest)
    report = await services.ping_callback(data.account_name, "request")
    return JsonAnswer.of(CallbackTestEnvelope(data=CallbackTestView.of(report)))


def callback_handlers() -> list[HTTPRouteHandler]:
    """The four callback endpoints and their `OPTIONS`."""
    return with_options(
        [
            account_endpoint(
                "callbackSet", "Set the callback URL and event types", CallbackSetRequest, CallbackEnvelope, 42206
            )(callback_set),
            account_endpoint(
                "callbackInfo", "The callback and its deliveries", CallbackInfoRequest, CallbackInfoEnvelope, 40400
            )(callback_info),
            account_endpoint("callbackDelete", "Delete the callback", CallbackDeleteRequest, CallbackEnvelope, 40400)(
                callback_delete
            ),
            account_endpoint(
                "callbackTest", "Send a test.ping to the callback", CallbackTestRequest, CallbackTestEnvelope, 40400
            )(callback_test),
        ]
    )
