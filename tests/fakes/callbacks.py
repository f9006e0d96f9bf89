"""In-memory callbacks and a scripted sender, for domain tests; the contract suite keeps the store honest."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime

import msgspec

from intwa.domain.callbacks.models import (
    Callback,
    CallbackSetting,
    DeliveryOutcome,
    DeliveryStats,
    DeliveryStatus,
    LastDelivery,
)
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.errors import AccountNotFound, CallbackUrlNotAllowed
from tests.fakes.storage import InMemoryStorage

CALLBACK_DELETED = "the callback was deleted"
PUBLIC_ADDRESS = "93.184.215.14"


class Delivery(msgspec.Struct):
    """A row of the deliveries table, as the dispatcher will leave it."""

    event_id: str
    account_name: str
    status: DeliveryStatus = "pending"
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None


class InMemoryCallbackStore:
    """The `CallbackStore` port in dictionaries, over the accounts of an `InMemoryStorage`."""

    def __init__(self, storage: InMemoryStorage) -> None:
        self._storage = storage
        self.callbacks: dict[str, Callback] = {}
        self.deliveries: list[Delivery] = []  # in event order

    async def set_callback(self, account_name: str, setting: CallbackSetting) -> Callback:
        if account_name not in self._storage.accounts:
            raise AccountNotFound(f"no account named `{account_name}`")
        callback = setting.applied_to(account_name, self.callbacks.get(account_name))
        self.callbacks[account_name] = callback
        return callback

    async def get_callback(self, account_name: str) -> Callback | None:
        return self.callbacks.get(account_name)

    async def delete_callback(self, account_name: str) -> Callback | None:
        deleted = self.callbacks.pop(account_name, None)
        if deleted is not None:
            for delivery in self.deliveries:
                if delivery.account_name == account_name and delivery.status == "pending":
                    delivery.status, delivery.last_error = "failed", CALLBACK_DELETED
        return deleted

    async def delivery_stats(self, account_name: str) -> DeliveryStats:
        mine = [delivery for delivery in self.deliveries if delivery.account_name == account_name]
        attempted = [delivery for delivery in mine if delivery.last_attempt_at is not None]
        succeeded = [d.last_attempt_at for d in attempted if d.status == "delivered" and d.last_attempt_at]
        latest_success = max(succeeded, default=None)
        failing = sum(
            delivery.attempts
            for delivery in attempted
            if delivery.status != "delivered"
            and delivery.last_attempt_at is not None
            and (latest_success is None or delivery.last_attempt_at > latest_success)
        )
        last = None
        if attempted:
            # The latest attempt; of equal times, the later event's.
            latest = max(enumerate(attempted), key=lambda pair: (pair[1].last_attempt_at, pair[0]))[1]
            assert latest.last_attempt_at is not None
            last = LastDelivery(latest.last_attempt_at, latest.last_status, latest.last_error)
        pending = sum(1 for delivery in mine if delivery.status == "pending")
        return DeliveryStats(pending=pending, failing=failing, last=last)


class Sent(msgspec.Struct, frozen=True):
    url: str
    event_id: str
    body: bytes
    signing_secrets: tuple[WebhookSecret, ...]


class ScriptedSender:
    """A `CallbackSender` that applies the URL rules to literal hosts, and answers each send with `outcome`.

    Host names resolve to the addresses in `addresses` (a public one unless a test says otherwise).
    """

    def __init__(self, rules: CallbackUrlRules, outcome: DeliveryOutcome | None = None) -> None:
        self.rules = rules
        self.outcome = outcome or DeliveryOutcome("delivered", status=200)
        self.addresses: dict[str, list[str]] = {}
        self.sent: list[Sent] = []

    async def check_target(self, url: str) -> None:
        target = self.rules.check_url(url)
        written = [target.host] if _is_address(target.host) else [PUBLIC_ADDRESS]
        self.rules.check_addresses(target.host, self.addresses.get(target.host, written))

    async def send(
        self, url: str, event_id: str, body: bytes, signing_secrets: Sequence[WebhookSecret]
    ) -> DeliveryOutcome:
        try:
            await self.check_target(url)
        except CallbackUrlNotAllowed as refused:
            return DeliveryOutcome("refused", error=refused.message)
        self.sent.append(Sent(url, event_id, body, tuple(signing_secrets)))
        return self.outcome


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
