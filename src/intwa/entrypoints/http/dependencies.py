"""How handlers reach the container: the webhook's `Provide` function (account endpoints resolve at start-up)."""

from __future__ import annotations

from litestar.datastructures import State

from intwa.container import Container
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.entrypoints.composition import resolve


def container_of(state: State) -> Container:
    container: Container = state["container"]
    return container


async def provide_apply_webhook(state: State) -> ApplyWebhook:
    return await resolve(container_of(state).apply_webhook)
