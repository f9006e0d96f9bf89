"""`Provide` functions: the handlers' way to ask the container for use cases."""

from __future__ import annotations

from litestar.datastructures import State

from intwa.container import Container
from intwa.domain.accounts import Authenticate
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.queries import PhoneInfo, WabaInfo
from intwa.domain.rate_limits import LimitRequests
from intwa.domain.webhooks import ApplyWebhook
from intwa.entrypoints.composition import resolve


def container_of(state: State) -> Container:
    container: Container = state["container"]
    return container


async def provide_authenticate(state: State) -> Authenticate:
    return await resolve(container_of(state).authenticate)


async def provide_limit_requests(state: State) -> LimitRequests:
    return await resolve(container_of(state).limit_requests)


async def provide_bind_phone_number(state: State) -> BindPhoneNumber:
    return await resolve(container_of(state).bind_phone_number)


async def provide_unbind_phone_number(state: State) -> UnbindPhoneNumber:
    return await resolve(container_of(state).unbind_phone_number)


async def provide_phone_info(state: State) -> PhoneInfo:
    return await resolve(container_of(state).phone_info)


async def provide_waba_info(state: State) -> WabaInfo:
    return await resolve(container_of(state).waba_info)


async def provide_apply_webhook(state: State) -> ApplyWebhook:
    return await resolve(container_of(state).apply_webhook)
