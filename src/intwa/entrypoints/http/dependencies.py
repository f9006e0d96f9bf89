"""`Provide` functions: the handlers' way to ask the container for use cases."""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

from litestar.datastructures import State

from intwa.container import Container
from intwa.domain.accounts import Authenticate
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.queries import PhoneInfo, WabaInfo

T = TypeVar("T")


async def resolve(provider: Any) -> Any:
    """Call a container provider; providers with async resources answer with an awaitable."""
    value = provider()
    if inspect.isawaitable(value):
        value = await value
    return value


def container_of(state: State) -> Container:
    container: Container = state["container"]
    return container


async def provide_authenticate(state: State) -> Authenticate:
    authenticate: Authenticate = await resolve(container_of(state).authenticate)
    return authenticate


async def provide_bind_phone_number(state: State) -> BindPhoneNumber:
    use_case: BindPhoneNumber = await resolve(container_of(state).bind_phone_number)
    return use_case


async def provide_unbind_phone_number(state: State) -> UnbindPhoneNumber:
    use_case: UnbindPhoneNumber = await resolve(container_of(state).unbind_phone_number)
    return use_case


async def provide_phone_info(state: State) -> PhoneInfo:
    use_case: PhoneInfo = await resolve(container_of(state).phone_info)
    return use_case


async def provide_waba_info(state: State) -> WabaInfo:
    use_case: WabaInfo = await resolve(container_of(state).waba_info)
    return use_case
