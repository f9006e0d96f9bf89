"""The `test.ping` event that `callbackTest` sends (SPEC §3.10); its id is a customer event id (`domain.events`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import msgspec

from intwa.domain.callbacks.models import TEST_PING

PingSource = Literal["request", "operator"]


class _PingData(msgspec.Struct, rename="camel"):
    account_name: str
    source: PingSource


class _PingEvent(msgspec.Struct):
    id: str
    type: str
    timestamp: datetime
    data: _PingData


def ping_event_body(event_id: str, account_name: str, at: datetime, source: PingSource) -> bytes:
    """The JSON of a `test.ping`: `{"id", "type", "timestamp", "data": {"accountName", "source"}}`.

    It is about no WABA, so its `data` has neither `wabaId` nor `sequence`; `source` is `request` when the
    customer asked (callbackTest), `operator` when an operator did (`intwa callback test`).
    """
    event = _PingEvent(event_id, TEST_PING, at.astimezone(UTC), _PingData(account_name, source))
    return msgspec.json.encode(event)
