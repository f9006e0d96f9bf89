"""Customer events (SPEC §3.10): the documents intwa writes for what it records, and their ids.

Pure: a storage adapter calls the builders inside the transaction that records the cause (the history's
changes of a snapshot, a binding, a Meta account update), reserves the WABA's next sequence numbers, and
stores the bytes `issue` encodes. Those bytes are the event from then on: the feed answers them and a
callback delivers them unchanged, so what a customer reads never depends on when it is read.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import msgspec

from intwa.domain.documents import BindingView, PhoneNumberView, View, WabaView
from intwa.domain.models import (
    Binding,
    Change,
    ChangeSource,
    CustomerEvent,
    ListedWaba,
    PhoneNumber,
    TrackedField,
    WabaSnapshot,
    WebhookEvent,
)

EVENT_ID_PREFIX = "evt_"
EVENT_ID_PATTERN = r"^evt_[0-9A-HJKMNP-TV-Z]{26}$"
"""`evt_` and a ULID in Crockford's base32, as intwa writes it (upper case)."""
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXAMPLE_ID = "evt_01M8E41EPV21PAHF04GANH11AT"
_EXAMPLE_TIME = "2026-11-27T09:05:33.915734Z"


def new_event_id(now: datetime, random_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """`evt_` and a ULID: the milliseconds of `now` (48 bits) then 80 random bits, as 26 Crockford characters.

    Ids written later sort after earlier ones (to the millisecond), so an id says roughly when it was written.
    """
    milliseconds = (now - _EPOCH) // timedelta(milliseconds=1)
    value = (milliseconds << 80) | int.from_bytes(random_bytes(10), "big")
    return EVENT_ID_PREFIX + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_event_id(text: str) -> bool:
    """Whether `text` has the form of an event id intwa writes."""
    return _EVENT_ID.fullmatch(text) is not None


class FieldChange(View):
    """One recorded change, as the history has it (SPEC §4 `history`): `accessible` is `"true"`/`"false"`."""

    field: Annotated[TrackedField, msgspec.Meta(examples=["qualityRating"])]
    old: Annotated[str | None, msgspec.Meta(examples=["GREEN"])]
    new: Annotated[str | None, msgspec.Meta(examples=["YELLOW"])]

    @classmethod
    def of(cls, change: Change) -> FieldChange:
        return cls(change.field, change.old, change.new)


class EventData(View, kw_only=True):
    """What every event's `data` holds first."""

    account_name: Annotated[
        str,
        msgspec.Meta(description="The account the WABA was bound to when the event was written", examples=["IW0001"]),
    ]
    waba_id: Annotated[str, msgspec.Meta(examples=["278990000057661"])]
    sequence: Annotated[
        int,
        msgspec.Meta(
            description="Grows by one per event of the WABA, without gaps, so a consumer can order the WABA's events"
            " and spot one it missed",
            examples=[42],
        ),
    ]
    source: Annotated[
        ChangeSource,
        msgspec.Meta(
            description="What brought it: `bind` (the customer's bind), `request` (the customer's unbind, or a read"
            " that refreshed), `sync` (the background or an operator's sync), `webhook` (a Meta webhook), `operator`"
            " (an operator's bind or unbind)",
            examples=["sync"],
        ),
    ]


class PhoneNumberChangesData(EventData, kw_only=True):
    phone_number_id: Annotated[str, msgspec.Meta(examples=["267300000093634"])]
    changes: tuple[FieldChange, ...]
    phone: Annotated[PhoneNumberView, msgspec.Meta(description="The phoneInfo item of the number after the change")]


class PhoneNumberData(EventData, kw_only=True):
    phone_number_id: Annotated[str, msgspec.Meta(examples=["267300000093635"])]
    phone: Annotated[
        PhoneNumberView,
        msgspec.Meta(description="The phoneInfo item of the number: as added, or as last known when removed"),
    ]


class WabaChangesData(EventData, kw_only=True):
    changes: tuple[FieldChange, ...]
    waba: Annotated[WabaView, msgspec.Meta(description="The wabaInfo item of the WABA after the change")]


class AccountUpdateData(EventData, kw_only=True):
    event: Annotated[str | None, msgspec.Meta(description="Meta's `value.event`", examples=["ACCOUNT_RESTRICTION"])]
    value: Annotated[
        Any,
        msgspec.Meta(
            description="Meta's `value` as received, e.g. with its `restriction_info`, `violation_info`, `ban_info`",
            examples=[
                {
                    "event": "ACCOUNT_RESTRICTION",
                    "restriction_info": [{"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1}],
                }
            ],
        ),
    ]


class BindingData(EventData, kw_only=True):
    phone_number_id: Annotated[str, msgspec.Meta(examples=["267300000093634"])]
    binding: Annotated[BindingView, msgspec.Meta(description="The binding, as bind answers it")]


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """A customer event; `type` says which, and what `data` holds besides the fields every event has."""

    id: Annotated[str, msgspec.Meta(description="Unique: `evt_` and 26 characters", examples=[_EXAMPLE_ID])]
    timestamp: Annotated[
        datetime, msgspec.Meta(description="RFC 3339 UTC time of the change", examples=[_EXAMPLE_TIME])
    ]
    data: EventData


class PhoneNumberUpdated(Event, frozen=True, kw_only=True, tag="phone_number.updated"):
    """Tracked fields of a phone number changed (status, quality rating, messaging limit, names, …)."""

    data: PhoneNumberChangesData


class PhoneNumberAdded(Event, frozen=True, kw_only=True, tag="phone_number.added"):
    """The WABA's phone list gained a number."""

    data: PhoneNumberData


class PhoneNumberRemoved(Event, frozen=True, kw_only=True, tag="phone_number.removed"):
    """The WABA's phone list lost a number."""

    data: PhoneNumberData


class WabaUpdated(Event, frozen=True, kw_only=True, tag="waba.updated"):
    """Tracked fields of the WABA changed (name, review status, `canSendMessage`, `accessible`)."""

    data: WabaChangesData


class WabaAccountUpdate(Event, frozen=True, kw_only=True, tag="waba.account_update"):
    """Meta sent an `account_update` webhook for the WABA."""

    data: AccountUpdateData


class BindingCreated(Event, frozen=True, kw_only=True, tag="binding.created"):
    """A phone number of the WABA was bound to the account."""

    data: BindingData


class BindingRemoved(Event, frozen=True, kw_only=True, tag="binding.removed"):
    """A binding of the account was removed."""

    data: BindingData


AnyEvent = (
    PhoneNumberUpdated
    | PhoneNumberAdded
    | PhoneNumberRemoved
    | WabaUpdated
    | WabaAccountUpdate
    | BindingCreated
    | BindingRemoved
)
"""Every event type intwa writes."""


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before it is written: `issue` gives it its id and its place in the WABA's sequence."""

    kind: type[Event]
    timestamp: datetime
    data: EventData


def snapshot_events(
    account_name: str, before: WabaSnapshot, after: WabaSnapshot, changes: Sequence[Change]
) -> list[EventDraft]:
    """The events of the changes recorded between two snapshots of a WABA, in the changes' order.

    `waba.updated` with every change of the WABA's own fields first; then one event per phone number:
    `phone_number.added` or `.removed` for a `phoneNumber` change, else `phone_number.updated` with all of
    the number's changes together.
    """
    own = [change for change in changes if change.phone_number_id is None]
    by_phone: dict[str, list[Change]] = {}
    for change in changes:
        if change.phone_number_id is not None:
            by_phone.setdefault(change.phone_number_id, []).append(change)
    drafts: list[EventDraft] = []
    if own:
        waba = WabaView.of(ListedWaba(after.waba, after.accessible))
        data = WabaChangesData(**_common(account_name, own[0]), changes=_changes(own), waba=waba)
        drafts.append(EventDraft(WabaUpdated, own[0].at, data))
    drafts.extend(_phone_event(account_name, before, after, phone_changes) for phone_changes in by_phone.values())
    return drafts


def _phone_event(account_name: str, before: WabaSnapshot, after: WabaSnapshot, changes: list[Change]) -> EventDraft:
    first = changes[0]
    phone_id = str(first.phone_number_id)
    if first.field != "phoneNumber":
        data = PhoneNumberChangesData(
            **_common(account_name, first),
            phone_number_id=phone_id,
            changes=_changes(changes),
            phone=_phone(after, phone_id),
        )
        return EventDraft(PhoneNumberUpdated, first.at, data)
    added = first.old is None
    phone = _phone(after if added else before, phone_id)
    kind = PhoneNumberAdded if added else PhoneNumberRemoved
    return EventDraft(
        kind, first.at, PhoneNumberData(**_common(account_name, first), phone_number_id=phone_id, phone=phone)
    )


def binding_event(binding: Binding, *, created: bool, source: ChangeSource, at: datetime) -> EventDraft:
    """`binding.created` (at the binding's time) or `binding.removed` (at `at`) of the binding's account."""
    data = BindingData(
        account_name=binding.account_name,
        waba_id=binding.waba_id,
        sequence=0,
        source=source,
        phone_number_id=binding.phone_number_id,
        binding=BindingView.of(binding),
    )
    return EventDraft(BindingCreated if created else BindingRemoved, binding.bound_at if created else at, data)


def account_update_event(account_name: str, event: WebhookEvent) -> EventDraft | None:
    """`waba.account_update` of a kept `account_update` webhook event of a bound WABA; None for other fields."""
    if event.field != "account_update" or event.waba_id is None:
        return None
    data = AccountUpdateData(
        account_name=account_name,
        waba_id=event.waba_id,
        sequence=0,
        source="webhook",
        event=event.event,
        value=msgspec.Raw(event.payload.encode()),  # Meta's value as kept: not decoded and written again
    )
    return EventDraft(WabaAccountUpdate, event.received_at, data)


_encode = msgspec.json.Encoder().encode


def issue(
    drafts: Sequence[EventDraft],
    *,
    first_sequence: int,
    now: datetime,
    new_id: Callable[[datetime], str] = new_event_id,
) -> list[CustomerEvent]:
    """The drafts of one WABA numbered from `first_sequence`, each with a new id and encoded as it is stored."""
    if len({draft.data.waba_id for draft in drafts}) > 1:
        raise ValueError("events of several WABAs cannot share one run of sequence numbers")
    events = []
    for sequence, draft in enumerate(drafts, first_sequence):
        event_id = new_id(now)
        document = draft.kind(
            id=event_id,
            timestamp=draft.timestamp.astimezone(UTC),
            data=msgspec.structs.replace(draft.data, sequence=sequence),
        )
        events.append(
            CustomerEvent(
                id=event_id,
                account_name=draft.data.account_name,
                waba_id=draft.data.waba_id,
                sequence=sequence,
                type=event_type(draft.kind),
                created_at=now,
                document=_encode(document),
            )
        )
    return events


def event_type(kind: type[Event]) -> str:
    """The `type` an event class is written with, e.g. `phone_number.updated`."""
    return str(kind.__struct_config__.tag)


def _common(account_name: str, change: Change) -> dict[str, Any]:
    # The sequence is the store's to give, in `issue`.
    return {"account_name": account_name, "waba_id": change.waba_id, "sequence": 0, "source": change.source}


def _changes(changes: Sequence[Change]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange.of(change) for change in changes)


def _phone(snapshot: WabaSnapshot, phone_id: str) -> PhoneNumberView:
    phone: PhoneNumber | None = snapshot.phone_number(phone_id)
    if phone is None:
        raise ValueError(f"phone number `{phone_id}` is not in the snapshot its change was recorded against")
    return PhoneNumberView.of(phone)
