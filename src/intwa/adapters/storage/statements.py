"""The statements SQLite and PostgreSQL run alike, written once with `?` placeholders.

SQLite runs them as written. The PostgreSQL adapter numbers their placeholders once, when it is
imported (`numbered`, as aiosql's adapters prepare SQL for asyncpg), so no request rewrites SQL. What
differs between the dialects stays in each one's modules: locking, leases, savepoints and the schema.
"""

from __future__ import annotations

from typing import NamedTuple

_SELECT_BINDINGS = "SELECT account_name, waba_id, phone_number_id, phone_number, bound_at FROM bindings"
_SELECT_HISTORY = "SELECT at, waba_id, phone_number_id, field, old, new, source FROM history"
_SELECT_EVENTS = "SELECT received_at, object_id, waba_id, field, event, payload, fingerprint FROM webhook_events"
_SELECT_CUSTOMER_EVENTS = (
    "SELECT event_id, account_name, waba_id, sequence, type, created_at, document FROM customer_events"
)

PRUNE_BATCH_ROWS = 1000
"""Webhook or customer events deleted per transaction when pruning: each one short, so other writers hardly wait."""


class Statements(NamedTuple):
    """Every shared statement in one dialect's placeholders: as constructed, SQLite's `?`."""

    # accounts and their keys
    insert_account: str = "INSERT INTO accounts (name, enabled, created_at) VALUES (?, ?, ?)"
    insert_api_key: str = "INSERT INTO api_keys (key_hash, account_name, created_at) VALUES (?, ?, ?)"
    account_api_keys: str = "SELECT key_hash, valid_until FROM api_keys WHERE account_name = ?"
    delete_api_key: str = "DELETE FROM api_keys WHERE key_hash = ?"
    set_api_key_valid_until: str = "UPDATE api_keys SET valid_until = ? WHERE key_hash = ?"
    account_exists: str = "SELECT 1 FROM accounts WHERE name = ?"
    get_account: str = "SELECT name, enabled, created_at FROM accounts WHERE name = ?"
    find_key_owner: str = (
        "SELECT a.name, a.enabled, a.created_at, k.valid_until"
        " FROM api_keys AS k JOIN accounts AS a ON a.name = k.account_name WHERE k.key_hash = ?"
    )
    list_accounts: str = """SELECT a.name, a.enabled, a.created_at,
           (SELECT count(*) FROM wabas AS w WHERE w.account_name = a.name),
           (SELECT count(*) FROM bindings AS b WHERE b.account_name = a.name)
       FROM accounts AS a ORDER BY a.name"""
    set_account_enabled: str = "UPDATE accounts SET enabled = ? WHERE name = ? RETURNING name, enabled, created_at"

    # bindings, and the WABAs they bind to an account
    insert_waba: str = (
        "INSERT INTO wabas (waba_id, account_name, bound_at) VALUES (?, ?, ?) ON CONFLICT (waba_id) DO NOTHING"
    )
    insert_binding: str = (
        "INSERT INTO bindings (phone_number_id, waba_id, account_name, phone_number, bound_at) VALUES (?, ?, ?, ?, ?)"
    )
    delete_binding: str = (
        "DELETE FROM bindings WHERE phone_number_id = ? AND account_name = ? AND waba_id = ?"
        " RETURNING account_name, waba_id, phone_number_id, phone_number, bound_at"
    )
    # The WABA id twice: the statement takes it twice, in either dialect.
    delete_unbound_waba: str = (
        "DELETE FROM wabas WHERE waba_id = ? AND NOT EXISTS (SELECT 1 FROM bindings WHERE waba_id = ?)"
    )
    find_binding: str = f"{_SELECT_BINDINGS} WHERE phone_number_id = ?"
    list_bindings: str = f"{_SELECT_BINDINGS} ORDER BY account_name, bound_at, phone_number_id"
    list_account_bindings: str = f"{_SELECT_BINDINGS} WHERE account_name = ? ORDER BY bound_at, phone_number_id"
    waba_owner: str = "SELECT account_name FROM wabas WHERE waba_id = ?"
    account_waba_ids: str = "SELECT waba_id FROM wabas WHERE account_name = ? ORDER BY bound_at, waba_id"
    all_bound_waba_ids: str = "SELECT waba_id FROM wabas ORDER BY bound_at, waba_id"

    # snapshots and the history of their changes
    get_snapshot: str = "SELECT snapshot FROM waba_snapshots WHERE waba_id = ?"
    # A bound WABA's account and its snapshot (NULL if it has none); no row: not bound.
    owner_and_snapshot: str = """SELECT w.account_name, s.snapshot FROM wabas AS w
           LEFT JOIN waba_snapshots AS s ON s.waba_id = w.waba_id WHERE w.waba_id = ?"""
    # One statement for an account's page of WABAs: its snapshots are read together, not one by one.
    account_snapshots: str = """SELECT w.waba_id, s.snapshot FROM wabas AS w
           LEFT JOIN waba_snapshots AS s ON s.waba_id = w.waba_id
       WHERE w.account_name = ? ORDER BY w.bound_at, w.waba_id"""
    write_snapshot: str = """INSERT INTO waba_snapshots (waba_id, snapshot, fetched_at) VALUES (?, ?, ?)
           ON CONFLICT (waba_id) DO UPDATE SET snapshot = excluded.snapshot, fetched_at = excluded.fetched_at"""
    record_change: str = (
        "INSERT INTO history (at, waba_id, phone_number_id, field, old, new, source) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    # One fixed statement per combination of filters, so that the database can use the matching index.
    list_history: str = f"{_SELECT_HISTORY} ORDER BY at, id"
    list_waba_history: str = f"{_SELECT_HISTORY} WHERE waba_id = ? ORDER BY at, id"
    list_phone_number_history: str = f"{_SELECT_HISTORY} WHERE phone_number_id = ? ORDER BY at, id"
    list_waba_phone_number_history: str = f"{_SELECT_HISTORY} WHERE waba_id = ? AND phone_number_id = ? ORDER BY at, id"

    # webhook events
    record_webhook_event: str = (
        "INSERT INTO webhook_events (fingerprint, received_at, object_id, waba_id, field, event, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fingerprint) DO NOTHING RETURNING id"
    )
    list_webhook_events: str = f"{_SELECT_EVENTS} ORDER BY received_at, id"
    list_waba_webhook_events: str = f"{_SELECT_EVENTS} WHERE waba_id = ? ORDER BY received_at, id"
    # The oldest events first, at most a batch of them (the second argument); the time index finds them.
    prune_webhook_events: str = """DELETE FROM webhook_events WHERE id IN (
           SELECT id FROM webhook_events WHERE received_at < ? ORDER BY received_at, id LIMIT ?)
       RETURNING id"""

    # customer events: the WABA's next sequence numbers (the second argument: how many), taken in the
    # transaction that writes the events, so its row is held until it commits and numbers never repeat
    reserve_event_sequences: str = """INSERT INTO event_sequences (waba_id, last_sequence) VALUES (?, ?)
           ON CONFLICT (waba_id) DO UPDATE SET last_sequence = event_sequences.last_sequence + excluded.last_sequence
       RETURNING last_sequence"""
    insert_event: str = (
        "INSERT INTO customer_events (event_id, account_name, waba_id, sequence, type, created_at, document)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    event_position: str = (
        "SELECT position FROM customer_events WHERE event_id = ? AND account_name = ? AND created_at >= ?"
    )
    account_events: str = f"""{_SELECT_CUSTOMER_EVENTS}
       WHERE account_name = ? AND position > ? AND created_at >= ? ORDER BY position LIMIT ?"""
    prune_events: str = """DELETE FROM customer_events WHERE position IN (
           SELECT position FROM customer_events WHERE created_at < ? ORDER BY created_at, position LIMIT ?)
       RETURNING position"""

    # background-sync claims
    claim_for_sync: str = """INSERT INTO sync_claims (waba_id, holder, claimed_until) VALUES (?, ?, ?)
    ON CONFLICT (waba_id) DO UPDATE SET holder = excluded.holder, claimed_until = excluded.claimed_until
    WHERE sync_claims.claimed_until < ? OR sync_claims.holder = excluded.holder
    RETURNING holder"""

    def history_query(self, waba_id: str | None, phone_number_id: str | None) -> tuple[str, tuple[str, ...]]:
        """The history statement for the filters given, and its arguments."""
        if waba_id is None:
            if phone_number_id is None:
                return self.list_history, ()
            return self.list_phone_number_history, (phone_number_id,)
        if phone_number_id is None:
            return self.list_waba_history, (waba_id,)
        return self.list_waba_phone_number_history, (waba_id, phone_number_id)


def numbered(sql: str) -> str:
    """The statement with its `?` placeholders numbered `$1`, `$2`, … in order, as asyncpg takes them.

    Every `?` is a placeholder: the shared statements hold no `?` in a literal or an operator.
    """
    pieces = sql.split("?")
    return "".join(f"{piece}${number}" for number, piece in enumerate(pieces[:-1], 1)) + pieces[-1]
