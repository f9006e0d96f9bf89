"""The customers' endpoints under `/intwa-api/whatsapp/account/` (SPEC §3.3–§3.6), served by the fast path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import Example
from litestar.types import AnyCallable, Scope

from intwa.domain.accounts import authorize
from intwa.domain.documents import BindingView, PhoneNumberView, WabaView
from intwa.domain.errors import Unauthenticated
from intwa.domain.models import Account
from intwa.entrypoints.http.access import ACCOUNT_KEY
from intwa.entrypoints.http.bodies import decode_body, read_body
from intwa.entrypoints.http.examples import event_feed_examples
from intwa.entrypoints.http.fast_path import JsonAnswer, served_directly
from intwa.entrypoints.http.options import answer_options
from intwa.entrypoints.http.schemas import (
    AccountRequest,
    BindingEnvelope,
    BindRequest,
    EventFeedAnswer,
    EventsAnswer,
    EventsEnvelope,
    EventsRequest,
    PhoneInfoEnvelope,
    PhoneInfoRequest,
    UnbindRequest,
    WabaInfoEnvelope,
    WabaInfoRequest,
)
from intwa.entrypoints.http.services import Services

ACCOUNT_PREFIX = "/intwa-api/whatsapp/account"

BodyT = TypeVar("BodyT", bound=AccountRequest)

FEED_DESCRIPTION = (
    "The account's customer events, oldest first: every change intwa records of its numbers and WABAs, its"
    " bindings and Meta's account updates. Read on with `after` set to the `next` of the last answer; `next` is"
    " the request's `after` when nothing new was written. An `after` that is unknown, another account's, or older"
    " than `events.retention_days` (7 days) is 40000: read again without it. `data.sequence` grows by one per"
    " event of a WABA, so a gap means an event was missed."
)


async def bind(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Bind a WABA and one of its phone numbers to the account, after checking both with Meta."""
    data = await authorized(request, services, BindRequest)
    binding = await services.bind_phone_number(data.account_name, data.waba_id, data.phone_number_id, data.phone_number)
    return JsonAnswer.of(BindingEnvelope(data=BindingView.of(binding)))


async def unbind(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Remove one of the account's bindings; the WABA is released with its last phone number."""
    data = await authorized(request, services, UnbindRequest)
    binding = await services.unbind_phone_number(data.account_name, data.waba_id, data.phone_number_id)
    return JsonAnswer.of(BindingEnvelope(data=BindingView.of(binding)))


async def phone_info(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Every phone number of one of the account's WABAs: status, quality rating, messaging limit."""
    data = await authorized(request, services, PhoneInfoRequest)
    phones = await services.list_phone_numbers(data.account_name, data.waba_id)
    return JsonAnswer.of(PhoneInfoEnvelope(data=[PhoneNumberView.of(phone) for phone in phones]))


async def waba_info(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """Every WABA bound to the account with its name and review status, by first binding time."""
    data = await authorized(request, services, WabaInfoRequest)
    wabas = await services.list_wabas(data.account_name)
    return JsonAnswer.of(WabaInfoEnvelope(data=[WabaView.of(waba) for waba in wabas]))


async def events(request: Request[Any, Any, Any], services: NamedDependency[Services]) -> JsonAnswer:
    """The account's customer events, oldest first, after the last one it read: the pull feed."""
    data = await authorized(request, services, EventsRequest)
    page = await services.read_events(data.account_name, data.after, data.limit)
    answer = EventFeedAnswer([msgspec.Raw(event.document) for event in page.events], page.next)
    return JsonAnswer.of(EventsAnswer(data=answer))


async def authorized(request: Request[Any, Any, Any], services: Services, body_type: type[BodyT]) -> BodyT:
    """The request's body once its key is authenticated and its `accountName` is the key's account.

    In that order: 40100/40300/42900 before 40000, and 40000 before the `accountName` check (40300).
    The body is read within `server.max_body_bytes` (41300 past it).
    """
    account = await authenticated(request.scope, services)
    body = decode_body(await read_body(request.receive, services.max_body_bytes), body_type)
    authorize(account, body.account_name)
    return body


async def authenticated(scope: Scope, services: Services) -> Account:
    """Authenticate the bearer key, then count the request against its account's rate limit.

    Both happen before the body is read, so 40100/40300/42900 come first, and only authenticated
    requests are counted, each against its own account.
    """
    account = await services.authenticate(bearer_key(scope))
    scope[ACCOUNT_KEY] = account  # type: ignore[literal-required]  # the request log names it
    if services.limit_requests.enabled:
        await services.limit_requests(account.name)
    return account


def bearer_key(scope: Scope) -> str | None:
    """The key of the `Authorization: Bearer <apiKey>` header, read from the raw ASGI headers."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() == b"bearer ":
                key = value[7:].strip()
                if key and b" " not in key:
                    return key.decode("latin-1")
            raise Unauthenticated("malformed `Authorization` header: send `Authorization: Bearer <apiKey>`")
    return None


def _endpoint(
    name: str,
    summary: str,
    body_type: type[AccountRequest],
    success: type[Any],
    *codes: int,
    examples: list[Example] | None = None,
    description: str | None = None,
) -> Callable[[AnyCallable], HTTPRouteHandler]:
    """`POST /intwa-api/whatsapp/account/<name>`, served directly, behind the API key."""
    return served_directly(
        f"{ACCOUNT_PREFIX}/{name}",
        summary=summary,
        description=description,
        body_type=body_type,
        success=success,
        codes=codes,
        security=[{"BearerAuth": []}],
        tags=["account"],
        examples=examples,
    )


def account_handlers() -> list[HTTPRouteHandler]:
    """The account endpoints and their `OPTIONS`, as route handlers of their own for each app.

    Registered on the app itself, not under a Router: a layer less for Litestar to resolve per request.
    """
    endpoints = [
        _endpoint(
            "bind",
            "Bind a WABA's phone number",
            BindRequest,
            BindingEnvelope,
            *(40900, 40901, 42200, 42201, 42202, 50200, 50300),
        )(bind),
        _endpoint("unbind", "Remove a binding", UnbindRequest, BindingEnvelope, 40401)(unbind),
        _endpoint(
            "phoneInfo",
            "Phone numbers of a bound WABA",
            PhoneInfoRequest,
            PhoneInfoEnvelope,
            *(40400, 42200, 50200, 50300),
        )(phone_info),
        _endpoint("wabaInfo", "The account's WABAs", WabaInfoRequest, WabaInfoEnvelope, 42200, 50200, 50300)(waba_info),
        _endpoint(
            "events",
            "The account's customer events (pull feed)",
            EventsRequest,
            EventsEnvelope,
            examples=event_feed_examples(),
            description=FEED_DESCRIPTION,
        )(events),
    ]
    # OPTIONS before each endpoint: Litestar gives a path a bare OPTIONS handler of its own unless one is there.
    return [handler for endpoint in endpoints for handler in (answer_options(*endpoint.paths), endpoint)]
