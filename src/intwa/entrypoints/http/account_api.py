"""The customers' endpoints under `/intwa-api/whatsapp/account/` (SPEC §3.3–§3.6)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from intwa.domain.accounts import authorize
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.errors import Unauthenticated
from intwa.domain.models import Account
from intwa.domain.queries import PhoneInfo, WabaInfo
from intwa.entrypoints.http.access import ACCOUNT_KEY
from intwa.entrypoints.http.dependencies import (
    provide_authenticate,
    provide_bind_phone_number,
    provide_limit_requests,
    provide_phone_info,
    provide_unbind_phone_number,
    provide_waba_info,
)
from intwa.entrypoints.http.schemas import (
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
_ACCOUNT_KEY = ACCOUNT_KEY  # the request log reads the account there too


def _errors(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI error responses, one per HTTP status, each an error envelope."""
    by_status: dict[int, list[int]] = {}
    for code in (40000, 40100, 40300, 41300, 42900, 50000, *codes):
        by_status.setdefault(code // 100, []).append(code)
    return {
        status: ResponseSpec(
            data_container=ErrorEnvelope,
            description="Error envelope; `code` is one of " + ", ".join(str(c) for c in sorted(codes_)),
        )
        for status, codes_ in sorted(by_status.items())
    }


def _bearer_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization")
    if header is None:
        return None
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key or " " in key:
        raise Unauthenticated("malformed `Authorization` header: send `Authorization: Bearer <apiKey>`")
    return key


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: authenticate the bearer key, then count the request against its account's rate limit.

    Both happen before the body is read, so 40100/40300/42900 come first, and only authenticated
    requests are counted, each against its own account.
    """
    authenticate = await provide_authenticate(connection.app.state)
    account = await authenticate(_bearer_key(connection))
    connection.scope[_ACCOUNT_KEY] = account  # type: ignore[literal-required]  # a 42900's log line names it
    limit_requests = await provide_limit_requests(connection.app.state)
    await limit_requests(account.name)


def provide_account(request: Request[Any, Any, Any]) -> Account:
    account: Account = request.scope[_ACCOUNT_KEY]  # type: ignore[literal-required]
    return account


@post(
    "/bind",
    status_code=200,
    summary="Bind a WABA's phone number",
    responses=_errors(40900, 40901, 42200, 42201, 42202, 50200, 50300),
)
async def bind(
    data: JSONBody[BindRequest], account: NamedDependency[Account], bind_phone_number: NamedDependency[BindPhoneNumber]
) -> BindingEnvelope:
    """Bind a WABA and one of its phone numbers to the account, after checking both with Meta."""
    binding = await bind_phone_number(
        authorize(account, data.account_name), data.waba_id, data.phone_number_id, data.phone_number
    )
    return BindingEnvelope(data=BindingView.of(binding))


@post("/unbind", status_code=200, summary="Remove a binding", responses=_errors(40401))
async def unbind(
    data: JSONBody[UnbindRequest],
    account: NamedDependency[Account],
    unbind_phone_number: NamedDependency[UnbindPhoneNumber],
) -> BindingEnvelope:
    """Remove one of the account's bindings; the WABA is released with its last phone number."""
    binding = await unbind_phone_number(authorize(account, data.account_name), data.waba_id, data.phone_number_id)
    return BindingEnvelope(data=BindingView.of(binding))


@post(
    "/phoneInfo",
    status_code=200,
    summary="Phone numbers of a bound WABA",
    responses=_errors(40400, 42200, 50200, 50300),
)
async def phone_info(
    data: JSONBody[PhoneInfoRequest], account: NamedDependency[Account], read_phone_info: NamedDependency[PhoneInfo]
) -> PhoneInfoEnvelope:
    """Every phone number of one of the account's WABAs: status, quality rating, messaging limit."""
    phones = await read_phone_info(authorize(account, data.account_name), data.waba_id)
    return PhoneInfoEnvelope(data=[PhoneNumberView.of(phone) for phone in phones])


@post("/wabaInfo", status_code=200, summary="The account's WABAs", responses=_errors(42200, 50200, 50300))
async def waba_info(
    data: JSONBody[WabaInfoRequest], account: NamedDependency[Account], read_waba_info: NamedDependency[WabaInfo]
) -> WabaInfoEnvelope:
    """Every WABA bound to the account with its name and review status, by first binding time."""
    wabas = await read_waba_info(authorize(account, data.account_name))
    return WabaInfoEnvelope(data=[WabaView.of(waba) for waba in wabas])


account_router = Router(
    path=ACCOUNT_PREFIX,
    route_handlers=[bind, unbind, phone_info, waba_info],
    guards=[require_api_key],
    dependencies={
        "account": Provide(provide_account, sync_to_thread=False),
        "bind_phone_number": Provide(provide_bind_phone_number),
        "unbind_phone_number": Provide(provide_unbind_phone_number),
        "read_phone_info": Provide(provide_phone_info),
        "read_waba_info": Provide(provide_waba_info),
    },
    security=[{"BearerAuth": []}],
    tags=["account"],
)
