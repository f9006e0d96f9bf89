"""Deliveries in SQL both dialects run alike: the fan-out of new events, settling attempts, the operator's views.

Per dialect only the claims differ (`sqlite_deliveries.py`, `postgres_deliveries.py`): they are where several
workers and instances meet. Times are each dialect's own (`rows.StoredTime`, `rows.ReadTime`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from intwa.adapters.storage.callback_statements import callback_from_row
from intwa.adapters.storage.rows import ReadTime, StoredTime
from intwa.domain.callbacks.deliveries import ClaimedDelivery, DeliveryRecord, Settlement
from intwa.domain.callbacks.models import Callback
from intwa.domain.models import CustomerEvent


class DeliveryStatements(NamedTuple):
    """The delivery statements in one dialect's placeholders: as constructed, SQLite's `?`."""

    insert_delivery: str = (
        "INSERT INTO deliveries (event_id, account_name, next_attempt_at, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (event_id) DO NOTHING"
    )
    settle: str = """UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_status = ?,
           last_error = ?, last_attempt_at = coalesce(?, last_attempt_at), locked_until = NULL
       WHERE id = ?"""
    disable_callback: str = "UPDATE callbacks SET enabled = FALSE WHERE account_name = ?"
    fail_account_pending: str = """UPDATE deliveries SET status = 'failed', last_error = ?, locked_until = NULL
       WHERE account_name = ? AND status = 'pending' AND id <> ?"""
    # Whether a claim may find anything, read without the writer (SQLite's idle polls then take no write lock).
    any_due: str = """SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?
           AND (locked_until IS NULL OR locked_until <= ?) LIMIT 1"""
    count_pending: str = "SELECT count(*) FROM deliveries WHERE status = 'pending'"
    redeliver_event: str = """UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,
           locked_until = NULL
       WHERE event_id = ? RETURNING id"""
    redeliver_failed: str = """UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?,
           locked_until = NULL
       WHERE account_name = ? AND status = 'failed' RETURNING id"""
    # Each account's `per_account` oldest pending deliveries (the window), of which those due and not leased.
    # The accounts are found with one step of the pending index each (a "skip scan"), and each window with a
    # few more: a claim costs as many steps as there are accounts with pending deliveries, not deliveries.
    claimable: str = """WITH RECURSIVE pending_accounts (name) AS (
           SELECT min(account_name) FROM deliveries WHERE status = 'pending'
           UNION ALL
           SELECT (SELECT min(p.account_name) FROM deliveries AS p
                   WHERE p.status = 'pending' AND p.account_name > pending_accounts.name)
           FROM pending_accounts WHERE pending_accounts.name IS NOT NULL)
       SELECT d.id FROM pending_accounts AS a, deliveries AS d
       WHERE a.name IS NOT NULL AND d.id IN (
               SELECT w.id FROM deliveries AS w WHERE w.account_name = a.name AND w.status = 'pending'
               ORDER BY w.id LIMIT ?)
           AND d.status = 'pending' AND d.next_attempt_at <= ? AND (d.locked_until IS NULL OR d.locked_until <= ?)
       ORDER BY d.next_attempt_at, d.id LIMIT ?"""
    # What an attempt needs, read with the claim: the event's document, the callback as it is now.
    claimed_details: str = """SELECT d.id, d.event_id, d.account_name, d.attempts, e.document, e.created_at,
           c.account_name, c.url, c.types, c.secret, c.enabled, c.created_at, c.previous_secret,
           c.previous_secret_until
       FROM deliveries AS d
       LEFT JOIN customer_events AS e ON e.event_id = d.event_id
       LEFT JOIN callbacks AS c ON c.account_name = d.account_name"""


_SELECT_RECORDS = """SELECT d.event_id, d.account_name, e.type, d.status, d.attempts, d.next_attempt_at,
           d.last_status, d.last_error, d.last_attempt_at, d.created_at
       FROM deliveries AS d LEFT JOIN customer_events AS e ON e.event_id = d.event_id"""
LIST_DELIVERIES = f"{_SELECT_RECORDS} ORDER BY d.id"
LIST_ACCOUNT_DELIVERIES = f"{_SELECT_RECORDS} WHERE d.account_name = ? ORDER BY d.id"
LIST_DELIVERIES_BY_STATUS = f"{_SELECT_RECORDS} WHERE d.status = ? ORDER BY d.id"
LIST_ACCOUNT_DELIVERIES_BY_STATUS = f"{_SELECT_RECORDS} WHERE d.account_name = ? AND d.status = ? ORDER BY d.id"


def list_query(account_name: str | None, status: str | None) -> tuple[str, tuple[str, ...]]:
    """The statement listing deliveries (of one account, of one status, or all) and its parameters."""
    if account_name is not None and status is not None:
        return LIST_ACCOUNT_DELIVERIES_BY_STATUS, (account_name, status)
    if account_name is not None:
        return LIST_ACCOUNT_DELIVERIES, (account_name,)
    if status is not None:
        return LIST_DELIVERIES_BY_STATUS, (status,)
    return LIST_DELIVERIES, ()


def fan_out(
    callback: Callback | None, events: Sequence[CustomerEvent], stored_time: StoredTime
) -> list[tuple[Any, ...]]:
    """The `insert_delivery` parameters of the events the account's callback sends, due at once.

    Written in the transaction of the events themselves: an event commits with its delivery or neither does.
    An account without a callback (or with a disabled one) gets none, and none later either.
    """
    if callback is None or not callback.enabled:
        return []
    return [
        (event.id, event.account_name, stored_time(event.created_at), stored_time(event.created_at))
        for event in events
        if callback.sends(event.type)
    ]


def claimed_from_row(columns: Iterable[Any], read_time: ReadTime) -> ClaimedDelivery:
    """A claimed delivery from a row of `claimed_details`."""
    row = tuple(columns)
    delivery_id, event_id, account_name, attempts, document, created_at = row[:6]
    callback = None if row[6] is None else callback_from_row(row[6:], read_time)
    return ClaimedDelivery(
        delivery_id=delivery_id,
        event_id=event_id,
        account_name=account_name,
        attempts=attempts,
        document=None if document is None else bytes(document),
        event_created_at=None if created_at is None else read_time(created_at),
        callback=callback,
    )


def settle_parameters(settlement: Settlement, stored_time: StoredTime) -> tuple[Any, ...]:
    """The parameters of `settle`."""
    return (
        settlement.status,
        settlement.attempts,
        stored_time(settlement.next_attempt_at),
        settlement.last_status,
        settlement.last_error,
        None if settlement.attempted_at is None else stored_time(settlement.attempted_at),
        settlement.delivery_id,
    )


def record_from_row(row: Iterable[Any], read_time: ReadTime) -> DeliveryRecord:
    """A delivery as the operator sees it, from a row of the listing statements."""
    event_id, account, type_, status, attempts, next_at, last_status, last_error, last_at, created_at = row
    return DeliveryRecord(
        event_id=event_id,
        account_name=account,
        type=type_,
        status=status,
        attempts=attempts,
        next_attempt_at=read_time(next_at),
        last_status=last_status,
        last_error=last_error,
        last_attempt_at=None if last_at is None else read_time(last_at),
        created_at=read_time(created_at),
    )
