"""Use cases for an account's callback: set it, show it, delete it, send it a test ping (SPEC §3.10)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from intwa.domain.callbacks.models import (
    EVENT_TYPES,
    TEST_PING,
    Callback,
    CallbackReport,
    CallbackSetting,
    NewCallback,
    PingReport,
)
from intwa.domain.callbacks.ping import PingSource, new_event_id, ping_event_body
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.errors import CallbackNotSet, InvalidField
from intwa.domain.ports import CallbackSender, CallbackStore, Clock


def chosen_types(types: Sequence[str] | None) -> tuple[str, ...] | None:
    """The event types a callback sends: None for all, else the known types asked for and `test.ping`, in order.

    An unknown type is refused (40000), naming it and the types there are.
    """
    if types is None:
        return None
    unknown = next((event_type for event_type in types if event_type not in EVENT_TYPES), None)
    if unknown is not None:
        raise InvalidField("types", f"names an unknown event type `{unknown}`; the types are {', '.join(EVENT_TYPES)}")
    wanted = {*types, TEST_PING}
    return tuple(event_type for event_type in EVENT_TYPES if event_type in wanted)


def not_set(account_name: str) -> CallbackNotSet:
    return CallbackNotSet(f"account `{account_name}` has no callback URL: set one with callbackSet")


class SetCallback:
    """Set the account's callback URL and event types; the first time, or when asked, with a new secret."""

    def __init__(self, store: CallbackStore, sender: CallbackSender, rules: CallbackUrlRules, clock: Clock) -> None:
        self._store = store
        self._sender = sender
        self._rules = rules
        self._clock = clock

    async def __call__(
        self, account_name: str, url: str, types: Sequence[str] | None = None, *, rotate_secret: bool = False
    ) -> NewCallback:
        """The callback as set, enabled again, with its new secret if it got one (shown only now).

        The URL must pass the rules, its host resolved now (42206 otherwise); the deliveries check it again.
        """
        chosen = chosen_types(types)
        self._rules.check_url(url)
        await self._sender.check_target(url)
        setting = CallbackSetting(url, chosen, rotate_secret, WebhookSecret.generate(), self._clock.now())
        callback = await self._store.set_callback(account_name, setting)
        return NewCallback(callback, setting.new_secret if callback.secret == setting.new_secret else None)


class ShowCallback:
    """The account's callback, without its secret, and how its deliveries stand (callbackInfo)."""

    def __init__(self, store: CallbackStore) -> None:
        self._store = store

    async def __call__(self, account_name: str) -> CallbackReport:
        callback, stats = await asyncio.gather(
            self._store.get_callback(account_name), self._store.delivery_stats(account_name)
        )
        if callback is None:
            raise not_set(account_name)
        return CallbackReport(callback, stats)


class DeleteCallback:
    """Delete the account's callback; events wait for no URL, so its pending deliveries end `failed`."""

    def __init__(self, store: CallbackStore) -> None:
        self._store = store

    async def __call__(self, account_name: str) -> Callback:
        deleted = await self._store.delete_callback(account_name)
        if deleted is None:
            raise not_set(account_name)
        return deleted


class PingCallback:
    """Send a `test.ping` to the account's callback now, as a delivery would go, and say how it went.

    It is sent whether or not the callback is enabled (a customer may be checking a receiver it has fixed)
    and changes nothing: it is stored nowhere, and a 410 does not disable the callback.
    """

    def __init__(self, store: CallbackStore, sender: CallbackSender, clock: Clock) -> None:
        self._store = store
        self._sender = sender
        self._clock = clock

    async def __call__(self, account_name: str, source: PingSource) -> PingReport:
        callback = await self._store.get_callback(account_name)
        if callback is None:
            raise not_set(account_name)
        now = self._clock.now()
        event_id = new_event_id(now)
        body = ping_event_body(event_id, account_name, now, source)
        outcome = await self._sender.send(callback.url, event_id, body, callback.signing_secrets(now))
        return PingReport(event_id, outcome)
