"""Customer events on PostgreSQL: written inside the transaction of what caused them (SPEC §3.10, §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from intwa.adapters.storage.postgres_database import SQL, Connection, PostgresDatabase, advisory_key, from_timestamptz
from intwa.adapters.storage.postgres_deliveries import write_deliveries
from intwa.adapters.storage.rows import aware_utc, event_from_row, event_parameters
from intwa.domain.events import EventDraft, issue
from intwa.domain.models import CustomerEvent
from intwa.domain.ports import Clock, EventsWritten

_LOCK_ACCOUNT_EVENTS = "SELECT pg_advisory_xact_lock($1)"


class PostgresEventWriter:
    """The customer events of one transaction, numbered in their WABA's sequence.

    The WABA's counter row (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) is held until the transaction
    ends, so concurrent writers of one WABA, in this instance or another, take their turns and its numbers
    have no gaps; the events commit or roll back with their cause. An account's feed is read in `position`
    order, and transactions here commit side by side: each writer first takes the account's advisory lock,
    held until it commits, so positions are drawn in the order the account's events commit and a reader
    going on from the last event it read never skips one that commits after it read.
    """

    def __init__(self, connection: Connection, now: datetime) -> None:
        self._connection = connection
        self.now = aware_utc(now)
        self.written = 0

    async def write(self, drafts: Sequence[EventDraft]) -> None:
        """Number the drafts (all of one WABA) after the WABA's last event and store them as issued."""
        if not drafts:
            return
        # A transaction writes events of one WABA, of one account: the lock, then the counter, never the reverse.
        await self._connection.execute(_LOCK_ACCOUNT_EVENTS, advisory_key("events", drafts[0].data.account_name))
        last = await self._connection.fetchval(SQL.reserve_event_sequences, drafts[0].data.waba_id, len(drafts))
        events = issue(drafts, first_sequence=last - len(drafts) + 1, now=self.now)
        await self._connection.executemany(SQL.insert_event, [event_parameters(event, aware_utc) for event in events])
        await write_deliveries(self._connection, events)
        self.written += len(events)


class PostgresEvents:
    """The customer events of one PostgreSQL database: the transactions that may write them, and the feed's reads."""

    def __init__(self, database: PostgresDatabase, clock: Clock, events_written: EventsWritten) -> None:
        self._database = database
        self._clock = clock
        self._events_written = events_written

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[tuple[Connection, PostgresEventWriter]]:
        """A transaction that may write events; `events_written` hears of them only once it has committed."""
        async with self._database.transaction() as connection:
            events = PostgresEventWriter(connection, self._clock.now())
            yield connection, events
        if events.written:
            self._events_written.notify()

    async def read(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        """At most `limit` of the account's events written since `since`, after `after`; None for an unknown `after`."""
        since = aware_utc(since)
        position = 0
        if after is not None:
            rows = await self._database.fetch(SQL.event_position, after, account_name, since)
            if not rows:
                return None
            position = rows[0][0]
        rows = await self._database.fetch(SQL.account_events, account_name, position, since, limit)
        return [event_from_row(row, from_timestamptz) for row in rows]
