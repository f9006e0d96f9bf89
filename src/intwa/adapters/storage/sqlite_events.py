"""Customer events on SQLite: written inside the transaction of what caused them (SPEC §3.10, §7)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from intwa.adapters.storage.rows import event_parameters
from intwa.adapters.storage.sqlite_database import SQL, utc_text
from intwa.domain.events import EventDraft, issue


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
        self.written += len(events)
