"""Meta's rate-limit hints: the `X-Business-Use-Case-Usage` header and `Retry-After`."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import msgspec

from intwa.domain.models import WabaUsage

_LONGEST_REGAIN_MINUTES = 24 * 60  # bounds what a garbled header can make intwa wait for


class _UsageEntry(msgspec.Struct, frozen=True):
    call_count: float = 0
    total_cputime: float = 0
    total_time: float = 0
    estimated_time_to_regain_access: float = 0  # minutes


def parse_business_use_case_usage(header: str, now: datetime) -> dict[str, WabaUsage]:
    """The usage per id (WABA or business) in an `X-Business-Use-Case-Usage` header; `{}` when malformed."""
    try:
        decoded = msgspec.json.decode(header, type=dict[str, list[_UsageEntry]])
    except (msgspec.DecodeError, msgspec.ValidationError):
        return {}
    usage: dict[str, WabaUsage] = {}
    for owner_id, entries in decoded.items():
        if not entries:
            continue
        regain_minutes = max(entry.estimated_time_to_regain_access for entry in entries)
        if not all(math.isfinite(value) for value in (regain_minutes, *_percentages(entries))):
            continue
        regain_minutes = min(regain_minutes, _LONGEST_REGAIN_MINUTES)
        usage[owner_id] = WabaUsage(
            call_count=max(entry.call_count for entry in entries),
            total_cputime=max(entry.total_cputime for entry in entries),
            total_time=max(entry.total_time for entry in entries),
            regain_access_at=now + timedelta(minutes=regain_minutes) if regain_minutes > 0 else None,
        )
    return usage


def retry_after_seconds(header: str | None) -> float | None:
    """A `Retry-After` header given in seconds; None when absent or not a number of seconds."""
    if not header:
        return None
    try:
        seconds = float(header.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _percentages(entries: list[_UsageEntry]) -> list[float]:
    return [value for entry in entries for value in (entry.call_count, entry.total_cputime, entry.total_time)]
