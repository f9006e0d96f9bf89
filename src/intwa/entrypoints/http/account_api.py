"""The customers' endpoints under `/intwa-api/whatsapp/account/` (SPEC §3.3–§3.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar import Request, post
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody
from litestar.response.base import ASGIResponse
from litestar.types import AnyCallable, ASGIApp, Receive, Scope, Send

from intwa.container import Container
from intwa.domain.accounts import Authenticate, authorize
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.errors import Unauthenticated
from intwa.domain.models import Account
from intwa.domain.queries import PhoneInfo, WabaInfo
from intwa.domain.rate_limits import LimitRequests
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.access import ACCOUNT_KEY
from intwa.entrypoints.http.bodies import decode_body, read_body
from intwa.entrypoints.http.schemas import (
    AccountRequest,
    BindingEnvelope,
    BindRequest,
    ErrorEnvelope,
    PhoneInfoEnvelope,
    PhoneInfoRequest,
    UnbindRequest,
    WabaInfoEnvelope,
    WabaInfoRequest,
)
from intwa.entrypoints.views import BindingView, PhoneNumberView, WabaView

ACCOUNT_PREFIX = "/intwa-api/whatsapp/account"

BodyT = TypeVar("BodyT", bound=AccountRequest)
_BEARER: list[dict[str, list[str]]] = [{"BearerAuth": []}]


def _responses(success: type[Any], *codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses: the success envelope, and one error envelope per HTTP status of `codes`.

    The handlers answer with ready-made `ASGIResponse`s, so the success body is documented here.
    """
    by_status: dict[int, list[int]] = {}
    for code in (40000, 40100, 40300, 41300, 42900, 50000, *codes):
        by_status.setdefault(code // 100, []).append(code)
    responses = {200: ResponseSpec(data_container=success, description="Success: `code` 0")}
    for status, codes_ in sorted(by_status.items()):
        responses[status] = ResponseSpec(
            data_container=ErrorEnvelope,
            description="Error envelope; `code` is one of " + ", ".join(str(c) for c in sorted(codes_)),
        )
    return responses


_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")


class JsonAnswer(ASGIResponse):
    """A 200 JSON answer sent as two ASGI messages, without Litestar's header and cookie machinery.

    On the cached read endpoints building a general response cost a tenth of the request.
    """

    __slots__ = ("_answer",)

    def __init__(self, body: bytes) -> None:  # the parent's fields are not used
        self._answer = body

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


def _success(envelope: BindingEnvelope | PhoneInfoEnvelope | WabaInfoEnvelope) -> JsonAnswer:
    """The envelope, encoded once by msgspec, as a ready ASGI answer."""
    return JsonAnswer(_encode(envelope))


def _bearer_key(scope: Scope) -> str | None:
    """The key of the `Authorization: Bearer <apiKey>` header, read from the raw ASGI headers."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            if value[:7].lower() == b"bearer ":
                key = value[7:].strip()
                if key and b" " not in key:
                    return key.decode("latin-1")
            raise Unauthenticated("malformed `Authorization` header: send `Authorization: Bearer <apiKey>`")
    return None


class AccountApi:
    """The use cases behind the account endpoints, asked of the container once, when the app starts.

    The handlers close over this object instead of taking per-request `Provide` dependencies or reading
    the app's state: on these endpoints Litestar's dependency resolution cost more than all of intwa's
    own work. Until `start` has run (the app's lifespan does it first) the endpoints have no use cases.
    """

    __slots__ = (
        "authenticate",
        "bind_phone_number",
        "limit_requests",
        "max_body_bytes",
        "phone_info",
        "unbind_phone_number",
        "waba_info",
    )

    max_body_bytes: int
    authenticate: Authenticate
    limit_requests: LimitRequests
    bind_phone_number: BindPhoneNumber
    unbind_phone_number: UnbindPhoneNumber
    phone_info: PhoneInfo
    waba_info: WabaInfo

    async def start(self, container: Container) -> None:
        """Resolve the use cases from the container."""
        self.max_body_bytes = container.settings().server.max_body_bytes
        self.authenticate = await resolve(container.authenticate)
        self.limit_requests = await resolve(container.limit_requests)
        self.bind_phone_number = await resolve(container.bind_phone_number)
        self.unbind_phone_number = await resolve(container.unbind_phone_number)
        self.phone_info = await resolve(container.phone_info)
        self.waba_info = await resolve(container.waba_info)

    async def account(self, scope: Scope) -> Account:
        """Authenticate the bearer key, then count the request against its account's rate limit.

        Both happen before the body is read, so 40100/40300/42900 come first, and only authenticated
        requests are counted, each against its own account.
        """
        account = await self.authenticate(_bearer_key(scope))
        scope[ACCOUNT_KEY] = account  # type: ignore[literal-required]  # the request log names it
        if self.limit_requests.enabled:
            await self.limit_requests(account.name)
        return account

    async def authorized(self, request: Request[Any, Any, Any], body_type: type[BodyT]) -> BodyT:
        """The request's body once its key is authenticated and its `accountName` is the key's account.

        In that order: 40100/40300/42900 before 40000, and 40000 before the `accountName` check (40300).
        The body is read within `server.max_body_bytes` (41300 past it).
        """
        account = await self.account(request.scope)
        body = decode_body(await read_body(request.receive, self.max_body_bytes), body_type)
        authorize(account, body.account_name)
        return body


def _document_body(body_type: type[Any]) -> dict[str, Provide]:
    """A dependency that only documents the request body in OpenAPI: the handlers never ask for it.

    Litestar takes an operation's request body from a `data` parameter of the handler or of one of its
    dependencies; the handlers decode their bodies themselves (`decode_body`), after authentication.
    """

    def body(data: Any) -> Any:
        return data

    # Set here, not written: the module's annotations are strings, and `body_type` is a local name.
    body.__annotations__ = {"data": JSONBody[body_type], "return": body_type}  # type: ignore[misc,valid-type]

    return {"documented_body": Provide(body, sync_to_thread=False)}


class CallHandlerDirectly:
    """Route middleware of the account endpoints: it calls the route's handler itself and sends its answer.

    Litestar's own handling of a route — building the handler's arguments through its signature model, an
    exit stack for dependency clean-up, turning the return value into a response — cost about a third of
    a cached phoneInfo request (docs/benchmarks.md). The account handlers need none of it: they take
    only the request, resolve no dependencies, have no guards or hooks, and return a ready ASGI answer.
    Litestar places this middleware between its router and the route, so routing (404, 405), the
    exception handlers and the app's middleware stay Litestar's; the route behind it (`app`) is not called.
    The handlers do not depend on it: without it Litestar would call them the same way, only slower.
    """

    __slots__ = ("_app",)

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler: HTTPRouteHandler = scope["route_handler"]  # type: ignore[assignment]  # set by the router
        answer: JsonAnswer = await handler.fn(Request(scope, receive, send))
        await answer(scope, receive, send)


def _account_endpoint(
    name: str, summary: str, body_type: type[AccountRequest], success: type[Any], *codes: int
) -> Callable[[AnyCallable], HTTPRouteHandler]:
    """`POST /intwa-api/whatsapp/account/<name>`: its body, success and error envelopes documented."""
    return post(
        f"{ACCOUNT_PREFIX}/{name}",
        status_code=200,
        summary=summary,
        responses=_responses(success, *codes),
        dependencies=_document_body(body_type),
        security=_BEARER,
        tags=["account"],
        middleware=[CallHandlerDirectly],
    )


def account_handlers(api: AccountApi) -> list[HTTPRouteHandler]:
    """The four account endpoints over `api`.

    Registered on the app itself, not under a Router: a layer less for Litestar to resolve per request.
    """

    @_account_endpoint(
        "bind",
        "Bind a WABA's phone number",
        BindRequest,
        BindingEnvelope,
        *(40900, 40901, 42200, 42201, 42202, 50200, 50300),
    )
    async def bind(request: Request[Any, Any, Any]) -> JsonAnswer:
        """Bind a WABA and one of its phone numbers to the account, after checking both with Meta."""
        data = await api.authorized(request, BindRequest)
        binding = await api.bind_phone_number(data.account_name, data.waba_id, data.phone_number_id, data.phone_number)
        return _success(BindingEnvelope(data=BindingView.of(binding)))

    @_account_endpoint("unbind", "Remove a binding", UnbindRequest, BindingEnvelope, 40401)
    async def unbind(request: Request[Any, Any, Any]) -> JsonAnswer:
        """Remove one of the account's bindings; the WABA is released with its last phone number."""
        data = await api.authorized(request, UnbindRequest)
        binding = await api.unbind_phone_number(data.account_name, data.waba_id, data.phone_number_id)
        return _success(BindingEnvelope(data=BindingView.of(binding)))

    @_account_endpoint(
        "phoneInfo",
        "Phone numbers of a bound WABA",
        PhoneInfoRequest,
        PhoneInfoEnvelope,
        *(40400, 42200, 50200, 50300),
    )
    async def phone_info(request: Request[Any, Any, Any]) -> JsonAnswer:
        """Every phone number of one of the account's WABAs: status, quality rating, messaging limit."""
        data = await api.authorized(request, PhoneInfoRequest)
        phones = await api.phone_info(data.account_name, data.waba_id)
        return _success(PhoneInfoEnvelope(data=[PhoneNumberView.of(phone) for phone in phones]))

    @_account_endpoint("wabaInfo", "The account's WABAs", WabaInfoRequest, WabaInfoEnvelope, 42200, 50200, 50300)
    async def waba_info(request: Request[Any, Any, Any]) -> JsonAnswer:
        """Every WABA bound to the account with its name and review status, by first binding time."""
        data = await api.authorized(request, WabaInfoRequest)
        wabas = await api.waba_info(data.account_name)
        return _success(WabaInfoEnvelope(data=[WabaView.of(waba) for waba in wabas]))

    return [bind, unbind, phone_info, waba_info]
