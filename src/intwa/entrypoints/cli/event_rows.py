"""How `intwa events` shows customer events: a table of what happened, or the documents as they were written.

Imported lazily by the command: it needs msgspec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import msgspec

from intwa.domain.feed import EventPage
from intwa.domain.models import CustomerEvent
from intwa.entrypoints.cli.render import Row, or_dash, shortened, table_time


class EventRow(Row):
    """A customer event as the `events` table shows it: the document's own fields and a line of what happened."""

    HEADERS = ("ID", "TIME", "TYPE", "WABA ID", "SEQ", "SUMMARY")
    # `--follow` prints rows one by one, so its columns have fixed widths (an id is 30 characters).
    WIDTHS: ClassVar[tuple[int, ...]] = (30, 20, 20, 15, 5)
    SUMMARY_WIDTH: ClassVar[int] = 72

    id: str
    timestamp: datetime
    type: str
    waba_id: str
    sequence: int
    summary: str

    @classmethod
    def of(cls, event: CustomerEvent) -> EventRow:
        document = msgspec.json.decode(event.document)
        data = document["data"]
        return cls(
            event.id,
            datetime.fromisoformat(document["timestamp"]),
            event.type,
            event.waba_id,
            event.sequence,
            shortened(_event_summary(event.type, data), cls.SUMMARY_WIDTH),
        )

    def cells(self) -> tuple[str, ...]:
        return (self.id, table_time(self.timestamp), self.type, self.waba_id, str(self.sequence), self.summary)

    @classmethod
    def line(cls, cells: Sequence[str]) -> str:
        """One row of the table without the others: the columns padded to fixed widths."""
        padded = [cell.ljust(width) for cell, width in zip(cells, cls.WIDTHS, strict=False)]
        return "  ".join([*padded, *cells[len(cls.WIDTHS) :]]).rstrip()


def _event_summary(kind: str, data: Mapping[str, Any]) -> str:
    """What happened, in a line: the changes, the number added or removed, the binding, or Meta's event."""
    changes = ", ".join(f"{c['field']} {or_dash(c['old'])}→{or_dash(c['new'])}" for c in data.get("changes", ()))
    if kind == "phone_number.updated":
        return f"{data['phoneNumberId']}: {changes}"
    if kind in ("phone_number.added", "phone_number.removed"):
        return f"{data['phoneNumberId']} {data['phone']['displayPhoneNumber']} {kind.rsplit('.', 1)[1]}"
    if kind == "waba.updated":
        return changes
    if kind == "waba.account_update":
        return str(data.get("event") or "-")
    if kind.startswith("binding."):
        return f"{data['phoneNumberId']} ({data['binding']['phoneNumber']}) by {data['source']}"
    return "-"


def event_page_json(page: EventPage) -> bytes:
    """`events --json`: `{"events", "next"}` like the feed's `data`, each event the bytes stored when it was written."""
    return msgspec.json.encode({"events": [msgspec.Raw(event.document) for event in page.events], "next": page.next})
