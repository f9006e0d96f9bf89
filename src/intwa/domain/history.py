"""The history of tracked fields (SPEC §3.7, §4 `history`): what changed between two snapshots, and reading it."""

from __future__ import annotations

from datetime import datetime

import msgspec

from intwa.domain import validation
from intwa.domain.models import Change, ChangeSource, PhoneNumber, TrackedField, Waba, WabaSnapshot
from intwa.domain.ports import Storage

_WABA_FIELDS: tuple[tuple[TrackedField, str], ...] = (
    ("wabaName", "name"),
    ("wabaStatus", "review_status"),
    ("canSendMessage", "can_send_message"),
)
_PHONE_FIELDS: tuple[tuple[TrackedField, str], ...] = (
    ("status", "status"),
    ("qualityRating", "quality_rating"),
    ("messageLimit", "messaging_limit"),
    ("verifiedName", "verified_name"),
    ("displayPhoneNumber", "display_phone_number"),
    ("canSendMessage", "can_send_message"),
    ("nameStatus", "name_status"),
)


def changes_between(old: WabaSnapshot | None, new: WabaSnapshot, *, at: datetime, source: ChangeSource) -> list[Change]:
    """Every tracked field whose value differs, WABA first, then phones in the new snapshot's order.

    A phone number that appears is recorded as `phoneNumber` from null to its id, in its place; one that
    disappears from its id to null, after the others, in the old snapshot's order. A first snapshot records
    nothing: history is about changes of what was already known.
    """
    if old is None:
        return []
    changes = _waba_changes(old.waba, new.waba, at, source)
    if old.accessible != new.accessible:
        changes.append(
            Change(at, new.waba.id, None, "accessible", _flag(old.accessible), _flag(new.accessible), source)
        )
    known = {phone.id: phone for phone in old.phone_numbers}
    for phone in new.phone_numbers:
        before = known.pop(phone.id, None)
        if before is None:
            changes.append(Change(at, new.waba.id, phone.id, "phoneNumber", None, phone.id, source))
        else:
            changes.extend(_phone_changes(new.waba.id, before, phone, at, source))
    changes.extend(Change(at, new.waba.id, gone.id, "phoneNumber", gone.id, None, source) for gone in known.values())
    return changes


def changes_on_replace(
    stored: WabaSnapshot | None, snapshot: WabaSnapshot, source: ChangeSource
) -> tuple[WabaSnapshot, list[Change]] | None:
    """What to store in place of `stored`, and the changes it records at its fetch time; None to store nothing.

    A snapshot older than the stored one (a slower refresh finishing after a newer one) is not stored. A
    review status that a Meta event set after the new snapshot was fetched is kept: the fetch read Meta
    before the event, so its status is the older one.
    """
    if stored is None:
        return snapshot, []
    if stored.fetched_at > snapshot.fetched_at:
        return None
    if stored.review_status_at is not None and stored.review_status_at > snapshot.fetched_at:
        waba = msgspec.structs.replace(snapshot.waba, review_status=stored.waba.review_status)
        snapshot = msgspec.structs.replace(snapshot, waba=waba, review_status_at=stored.review_status_at)
    return snapshot, changes_between(stored, snapshot, at=snapshot.fetched_at, source=source)


def with_review_status(
    stored: WabaSnapshot, review_status: str, at: datetime, source: ChangeSource
) -> tuple[WabaSnapshot, list[Change]] | None:
    """The stored snapshot with the review status Meta decided at `at`, and the change it records.

    None when it is the same, or when the stored data is newer than the decision: the snapshot was
    fetched after `at`, or a later decision was applied already (a late or replayed delivery never rolls
    the status back, SPEC §3.9). The snapshot keeps its fetch time: the rest of its data is no fresher.
    """
    if stored.fetched_at > at or (stored.review_status_at is not None and stored.review_status_at > at):
        return None
    if stored.waba.review_status == review_status:
        return None
    updated = msgspec.structs.replace(
        stored,
        waba=msgspec.structs.replace(stored.waba, review_status=review_status),
        review_status_at=at,
    )
    return updated, changes_between(stored, updated, at=at, source=source)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _waba_changes(old: Waba, new: Waba, at: datetime, source: ChangeSource) -> list[Change]:
    return [
        Change(at, new.id, None, field, getattr(old, attribute), getattr(new, attribute), source)
        for field, attribute in _WABA_FIELDS
        if getattr(old, attribute) != getattr(new, attribute)
    ]


def _phone_changes(
    waba_id: str, old: PhoneNumber, new: PhoneNumber, at: datetime, source: ChangeSource
) -> list[Change]:
    return [
        Change(at, waba_id, new.id, field, getattr(old, attribute), getattr(new, attribute), source)
        for field, attribute in _PHONE_FIELDS
        if getattr(old, attribute) != getattr(new, attribute)
    ]


class ListHistory:
    """Recorded changes of tracked fields, oldest first, of one WABA, one phone number, or all."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def __call__(self, waba_id: str | None = None, phone_number_id: str | None = None) -> list[Change]:
        if waba_id is not None:
            validation.meta_id(waba_id, "--waba")
        if phone_number_id is not None:
            validation.meta_id(phone_number_id, "--phone")
        return await self._storage.list_history(waba_id, phone_number_id)
