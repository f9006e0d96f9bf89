"""Domain objects as the parameters of the shared statements, and their rows as domain objects again."""

from __future__ import annotations

from datetime import UTC, datetime


def aware_utc(moment: datetime) -> datetime:
    """The moment in UTC; naive datetimes are refused: intwa stores timezone-aware times only."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: intwa stores timezone-aware times only")
    return moment.astimezone(UTC)
