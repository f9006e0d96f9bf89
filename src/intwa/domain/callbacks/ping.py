"""The `test.ping` event that `callbackTest` sends, and the ids of customer events (SPEC §3.10)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Literal

import msgspec

from intwa.domain.callbacks.models import TEST_PING

EVENT_ID_PREFIX = "evt_"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

PingSource = Literal["request", "operator"]


def new_event_id(at: datetime) -> str:
    """`evt_` + 26 characters: a ULID (48 bits of milliseconds, 80 random bits) in Crockford's base 32.

    Ids of events made later sort later, and none holds a `.` (Standard Webhooks signs `{id}.{timestamp}.{body}`).
    """
    value = (int(at.timestamp() * 1000) << 80) | secrets.randbits(80)
    return EVENT_ID_PREFIX + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


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
