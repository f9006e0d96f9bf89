"""Callbacks and deliveries in SQL both dialects run alike, with their row mappers (as `statements.py`, `rows.py`).

A callback's `types` is a JSON array (SQLite `TEXT`, PostgreSQL `jsonb`; NULL sends every type), its secrets
the `whsec_` text the customer was shown. Times are each dialect's own (`rows.StoredTime`, `rows.ReadTime`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import msgspec

from intwa.adapters.storage.rows import ReadTime, StoredTime
from intwa.domain.callbacks.models import Callback, DeliveryStats, LastDelivery
from intwa.domain.callbacks.signing import WebhookSecret

_decode_types = msgspec.json.Decoder(tuple[str, ...]).decode

CALLBACK_DELETED = "the callback was deleted"
"""What a pending delivery of a deleted callback ends with, as its `last_error`."""


class CallbackStatements(NamedTuple):
    """The callback statements in one dialect's placeholders: as constructed, SQLite's `?`."""

    # Each statement names a callback's columns in one order: the order of `callback_parameters`.
    get_callback: str = """SELECT
           account_name, url, types, secret, enabled, created_at, previous_secret, previous_secret_until
       FROM callbacks WHERE account_name = ?"""
    # `created_at` stays the first setting's.
    put_callback: str = """INSERT INTO callbacks
           (account_name, url, types, secret, enabled, created_at, previous_secret, previous_secret_until)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (account_name) DO UPDATE SET url = excluded.url, types = excluded.types,
           secret = excluded.secret, enabled = excluded.enabled, previous_secret = excluded.previous_secret,
           previous_secret_until = excluded.previous_secret_until"""
    delete_callback: str = """DELETE FROM callbacks WHERE account_name = ?
       RETURNING account_name, url, types, secret, enabled, created_at, previous_secret, previous_secret_until"""
    fail_pending_deliveries: str = """UPDATE deliveries SET status = 'failed', last_error = ?, locked_until = NULL
       WHERE account_name = ? AND status = 'pending'"""
    # The account three times: pending; the latest successful attempt; the failed attempts after it.
    delivery_counts: str = """SELECT
           (SELECT count(*) FROM deliveries WHERE account_name = ? AND status = 'pending'),
           (SELECT coalesce(sum(d.attempts), 0) FROM deliveries AS d
              WHERE d.account_name = ? AND d.status <> 'delivered' AND d.last_attempt_at IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM deliveries AS s
                   WHERE s.account_name = ? AND s.status = 'delivered' AND s.last_attempt_at >= d.last_attempt_at))"""
    last_delivery: str = """SELECT last_attempt_at, last_status, last_error FROM deliveries
       WHERE account_name = ? AND last_attempt_at IS NOT NULL ORDER BY last_attempt_at DESC, id DESC LIMIT 1"""


def callback_parameters(callback: Callback, stored_time: StoredTime) -> tuple[Any, ...]:
    """The parameters of `put_callback`, in the statements' column order."""
    types = None if callback.types is None else msgspec.json.encode(callback.types).decode()
    previous = callback.previous_secret
    until = callback.previous_secret_until
    return (
        callback.account_name,
        callback.url,
        types,
        callback.secret.reveal(),
        callback.enabled,
        stored_time(callback.created_at),
        None if previous is None else previous.reveal(),
        None if until is None else stored_time(until),
    )


def callback_from_row(row: Iterable[Any], read_time: ReadTime) -> Callback:
    """A callback from a row of `get_callback` or `delete_callback`."""
    account_name, url, types, secret, enabled, created_at, previous_secret, previous_secret_until = row
    return Callback(
        account_name=account_name,
        url=url,
        types=None if types is None else _decode_types(types),
        secret=WebhookSecret(secret),
        enabled=bool(enabled),
        created_at=read_time(created_at),
        previous_secret=None if previous_secret is None else WebhookSecret(previous_secret),
        previous_secret_until=None if previous_secret_until is None else read_time(previous_secret_until),
    )


def delivery_stats_from_rows(counts: Iterable[Any], last: Iterable[Any] | None, read_time: ReadTime) -> DeliveryStats:
    """The stats from the row of `delivery_counts` and the row of `last_delivery` (None when there is none)."""
    pending, failing = counts
    latest = None
    if last is not None:
        at, status, error = last
        latest = LastDelivery(read_time(at), status, error)
    return DeliveryStats(pending=pending, failing=failing, last=latest)
