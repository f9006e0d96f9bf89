"""The pull feed of customer events (SPEC §3.10): an account's events in order, from where its reader left off."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from intwa.domain.errors import InvalidField
from intwa.domain.events import is_event_id
from intwa.domain.models import CustomerEvent
from intwa.domain.ports import Clock, Storage

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class EventPage(msgspec.Struct, frozen=True):
    """Events in the order they were written, and where to read on: the last one's id, or the `after` read from."""

    events: list[CustomerEvent]
    next: str | None


class ReadEvents:
    """An account's customer events, oldest first, after the event `after` (from the oldest kept without it).

    Events are kept `retention_days`; one older than that is neither read nor a place to read on from, even
    before it is pruned, so what the feed answers does not depend on when pruning last ran. An `after` that
    is unknown, expired or another account's is refused with one answer (40000): ids of other customers'
    events cannot be probed.
    """

    def __init__(self, storage: Storage, clock: Clock, *, retention_days: float) -> None:
        self._storage = storage
        self._clock = clock
        self._retention_days = retention_days
        self._retention = timedelta(days=retention_days)

    async def __call__(
        self, account_name: str, after: str | None = None, limit: int | float = DEFAULT_LIMIT
    ) -> EventPage:
        """A page of at most `limit` events (a whole number from 1 to 500; JSON's 100.0 is 100)."""
        if after is not None and not is_event_id(after):
            raise InvalidField("after", "must be an event id as the feed gives it: `evt_` and 26 characters")
        if not (float(limit).is_integer() and 1 <= limit <= MAX_LIMIT):
            raise InvalidField("limit", f"must be a whole number between 1 and {MAX_LIMIT}")
        since = self._clock.now() - self._retention
        events = await self._storage.read_events(account_name, after=after, limit=int(limit), since=since)
        if events is None:
            raise InvalidField(
                "after",
                f"{after} is no event of account `{account_name}` that is kept: it is unknown or older than"
                f" {self._retention_days:g} days; read from the oldest kept event without `after`",
            )
        return EventPage(events, events[-1].id if events else after)
