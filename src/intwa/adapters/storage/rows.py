"""Domain objects as the parameters of the shared statements, and their rows as domain objects again.

The same for SQLite and PostgreSQL but for times: each dialect passes its own conversion. SQLite keeps
a time as RFC 3339 UTC text (`utc_text`); PostgreSQL as `timestamptz`, which asyncpg reads back as an
aware UTC datetime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from intwa.domain.models import (
    Account,
    AccountSummary,
    ApiKeyOwner,
    Binding,
    Change,
    CustomerEvent,
    WabaSnapshot,
    WebhookEvent,
)

StoredTime = Callable[[datetime], Any]
"""An aware datetime as the dialect stores it."""
ReadTime = Callable[[Any], datetime]
"""A stored time as the aware UTC datetime it was."""

_SNAPSHOT_ENCODER = msgspec.json.Encoder()

decode_snapshot = msgspec.json.Decoder(WabaSnapshot).decode
"""The `WabaSnapshot` of a stored snapshot's JSON (the decoder's own method: no call in between)."""


def aware_utc(moment: datetime) -> datetime:
    """The moment in UTC; naive datetimes are refused: intwa stores timezone-aware times only."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: intwa stores timezone-aware times only")
    return moment.astimezone(UTC)


def encode_snapshot(snapshot: WabaSnapshot, fetched_at: datetime) -> bytes:
    """The snapshot as stored: JSON, with `fetched_at` (its fetch time in UTC) in place of its own."""
    return _SNAPSHOT_ENCODER.encode(msgspec.structs.replace(snapshot, fetched_at=fetched_at))


def binding_parameters(binding: Binding, bound_at: Any) -> tuple[Any, ...]:
    """The parameters of `insert_binding`, with the binding time as the dialect stores it."""
    return binding.phone_number_id, binding.waba_id, binding.account_name, binding.phone_number, bound_at


def change_parameters(changes: list[Change], stored_time: StoredTime) -> list[tuple[Any, ...]]:
    """The parameters of `record_change`, one tuple per change."""
    return [(stored_time(c.at), c.waba_id, c.phone_number_id, c.field, c.old, c.new, c.source) for c in changes]


def webhook_event_parameters(event: WebhookEvent, stored_time: StoredTime) -> tuple[Any, ...]:
    """The parameters of `record_webhook_event`."""
    received_at = stored_time(event.received_at)
    return event.fingerprint, received_at, event.object_id, event.waba_id, event.field, event.event, event.payload


def account_from_row(row: Iterable[Any], read_time: ReadTime) -> Account:
    """An account from the columns `name, enabled, created_at`."""
    name, enabled, created_at = row
    return Account(name=name, enabled=bool(enabled), created_at=read_time(created_at))


def key_owner_from_row(row: Iterable[Any], read_time: ReadTime) -> ApiKeyOwner:
    """A key's account and end from the columns `name, enabled, created_at, valid_until`."""
    name, enabled, created_at, valid_until = row
    account = Account(name=name, enabled=bool(enabled), created_at=read_time(created_at))
    return ApiKeyOwner(account, None if valid_until is None else read_time(valid_until))


def account_summary_from_row(row: Iterable[Any], read_time: ReadTime) -> AccountSummary:
    """An account summary from the columns of `list_accounts`."""
    name, enabled, created_at, waba_count, binding_count = row
    return AccountSummary(
        name=name,
        enabled=bool(enabled),
        created_at=read_time(created_at),
        waba_count=waba_count,
        binding_count=binding_count,
    )


def binding_from_row(row: Iterable[Any], read_time: ReadTime) -> Binding:
    """A binding from the columns `account_name, waba_id, phone_number_id, phone_number, bound_at`."""
    account_name, waba_id, phone_number_id, phone_number, bound_at = row
    return Binding(
        account_name=account_name,
        waba_id=waba_id,
        phone_number_id=phone_number_id,
        phone_number=phone_number,
        bound_at=read_time(bound_at),
    )


def change_from_row(row: Iterable[Any], read_time: ReadTime) -> Change:
    """A recorded change from the columns of the history statements."""
    at, waba_id, phone_number_id, field, old, new, source = row
    return Change(read_time(at), waba_id, phone_number_id, field, old, new, source)


def webhook_event_from_row(row: Iterable[Any], read_time: ReadTime) -> WebhookEvent:
    """A recorded webhook event from the columns of the webhook event statements."""
    received_at, object_id, waba_id, field, event, payload, fingerprint = row
    return WebhookEvent(read_time(received_at), object_id, waba_id, field, event, payload, fingerprint)


def event_parameters(event: CustomerEvent, stored_time: StoredTime) -> tuple[Any, ...]:
    """The parameters of `insert_event`."""
    return (
        event.id,
        event.account_name,
        event.waba_id,
        event.sequence,
        event.type,
        stored_time(event.created_at),
        event.document,
    )


def event_from_row(row: Iterable[Any], read_time: ReadTime) -> CustomerEvent:
    """A stored customer event from the columns of `account_events`."""
    event_id, account_name, waba_id, sequence, type_, created_at, document = row
    return CustomerEvent(event_id, account_name, waba_id, sequence, type_, read_time(created_at), bytes(document))
