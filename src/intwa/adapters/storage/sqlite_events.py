"""Customer events on SQLite: written inside the transaction of what caused them (SPEC §3.10, §7)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

import aiosqlite

from intwa.adapters.storage.rows import event_from_row, event_parameters
from intwa.adapters.storage.sqlite_database import SQL, SqliteDatabase, from_utc_text, utc_text
from intwa.adapters.storage.sqlite_deliveries import write_deliveries
from intwa.domain.events import EventDraft, issue
from intwa.domain.models import CustomerEvent
from intwa.domain.ports import Clock, EventsWritten


class SqliteEventWriter:
    """The customer events of one transaction on the writer, numbered in their WABA's sequence.

    The WABA's counter row and the events commit or roll back with the history row, binding or webhook
    event they come from: a crash can neither lose an event whose cause committed nor keep one whose cause
    did not. SQLite has one writer at a time, so events are written in the order they commit.
    """

    def __init__(self, connection: aiosqlite.Connection, now: datetime) -> None:
        self._connection = connection
        self.now = now
        self.written = 0

    async def write(self, drafts: Sequence[EventDraft]) -> None:
        """Number the drafts (all of one WABA) after the WABA's last event and store them as issued."""
        if not drafts:
            return
        [(last,)] = await self._connection.execute_fetchall(
            SQL.reserve_event_sequences, (drafts[0].data.waba_id, len(drafts))
        )
        events = issue(drafts, first_sequence=last - len(drafts) + 1, now=self.now)
        await self._connection.executemany(SQL.insert_event, [event_parameters(event, utc_text) for event in events])
        await write_deliveries(self._connection, events)
        self.written += len(events)


class SqliteEvents:
    """The customer events of one SQLite file: the transactions that may write them, and the feed's reads."""

    def __init__(self, database: SqliteDatabase, clock: Clock, events_written: EventsWritten) -> None:
        self._database = database
        self._clock = clock
        self._events_written = events_written

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[tuple[aiosqlite.Connection, SqliteEventWriter]]:
        """A write transaction that may write events; `events_written` hears of them only once it has committed."""
        async with self._database.transaction() as connection:
            events = SqliteEventWriter(connection, self._clock.now())
            yield connection, events
        if events.written:
            self._events_written.notify()

    async def read(
        self, account_name: str, *, after: str | None, limit: int, since: datetime
    ) -> list[CustomerEvent] | None:
        """At most `limit` of the account's events written since `since`, after `after`; None for an unknown `after`."""
        since_text = utc_text(since)
        position = 0
        if after is not None:
            rows = await self._database.fetch_all(SQL.event_position, (after, account_name, since_text))
            if not rows:
                return None
            position = rows[0][0]
        rows = await self._database.fetch_all(SQL.account_events, (account_name, position, since_text, limit))
        return [event_from_row(row, from_utc_text) for row in rows]
