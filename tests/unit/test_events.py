"""Building customer events from what intwa records (SPEC §3.10): their types, data, sequence and ids."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from intwa.domain.documents import BindingView, PhoneNumberView, WabaView
from intwa.domain.events import (
    EVENT_ID_PATTERN,
    EventDraft,
    account_update_event,
    binding_event,
    is_event_id,
    issue,
    new_event_id,
    snapshot_events,
)
from intwa.domain.history import changes_between
from intwa.domain.models import (
    Binding,
    ChangeSource,
    CustomerEvent,
    ListedWaba,
    PhoneNumber,
    Waba,
    WabaSnapshot,
    WebhookEvent,
)

WABA = "278990000057661"
PHONE = "267300000093634"
SECOND_PHONE = "267300000093635"
NEW_PHONE = "267300000093636"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(seconds=5)


def phone(phone_id: str, **values: str) -> PhoneNumber:
    fields = {"verified_name": "TIG Tech", "status": "CONNECTED", "quality_rating": "GREEN", **values}
    return PhoneNumber(id=phone_id, display_phone_number=f"+62 852-1234-{phone_id[-4:]}", **fields)


def snapshot(*phones: PhoneNumber, at: datetime = T0, accessible: bool = True, **waba: str) -> WabaSnapshot:
    values = {"name": "PT TIG TECH", "review_status": "APPROVED", **waba}
    return WabaSnapshot(Waba(id=WABA, **values), phones, fetched_at=at, accessible=accessible)


def written(
    before: WabaSnapshot, after: WabaSnapshot, source: ChangeSource = "sync", first_sequence: int = 1
) -> list[dict[str, Any]]:
    """The documents of the events a replaced snapshot writes, as a customer reads them."""
    changes = changes_between(before, after, at=after.fetched_at, source=source)
    events = issue(snapshot_events("IW0001", before, after, changes), first_sequence=first_sequence, now=NOW)
    return [json.loads(event.document) for event in events]


def as_json(struct: msgspec.Struct) -> Any:
    return json.loads(msgspec.json.encode(struct))


def test_changes_of_a_phone_number_are_one_phone_number_updated_event_with_the_phone_info_item() -> None:
    before = snapshot(phone(PHONE), phone(SECOND_PHONE))
    after_phone = phone(PHONE, status="FLAGGED", quality_rating="YELLOW")
    after = snapshot(after_phone, phone(SECOND_PHONE), at=T0 + timedelta(minutes=1))

    [event] = written(before, after)

    assert event["type"] == "phone_number.updated"
    assert event["timestamp"] == "2026-11-27T09:01:00Z"
    assert event["data"] == {
        "accountName": "IW0001",
        "wabaId": WABA,
        "sequence": 1,
        "source": "sync",
        "phoneNumberId": PHONE,
        "changes": [
            {"field": "status", "old": "CONNECTED", "new": "FLAGGED"},
            {"field": "qualityRating", "old": "GREEN", "new": "YELLOW"},
        ],
        "phone": as_json(PhoneNumberView.of(after_phone)),
    }


def test_changes_of_the_waba_are_one_waba_updated_event_with_the_waba_info_item() -> None:
    before = snapshot(phone(PHONE))
    after = snapshot(phone(PHONE), at=T0 + timedelta(minutes=1), accessible=False, review_status="REJECTED")

    [event] = written(before, after, source="webhook")

    assert event["type"] == "waba.updated"
    assert event["data"]["source"] == "webhook"
    assert event["data"]["changes"] == [
        {"field": "wabaStatus", "old": "APPROVED", "new": "REJECTED"},
        {"field": "accessible", "old": "true", "new": "false"},
    ]
    assert event["data"]["waba"] == as_json(WabaView.of(ListedWaba(after.waba, accessible=False)))
    assert event["data"]["waba"]["accessible"] is False
    assert "phoneNumberId" not in event["data"]


def test_a_number_added_carries_its_new_item_and_a_number_removed_its_last_known_one() -> None:
    gone = phone(SECOND_PHONE, quality_rating="RED")
    added = phone(NEW_PHONE, status="PENDING")
    before = snapshot(phone(PHONE), gone)
    after = snapshot(added, phone(PHONE), at=T0 + timedelta(minutes=1))

    events = written(before, after)

    assert [(event["type"], event["data"]["phoneNumberId"]) for event in events] == [
        ("phone_number.added", NEW_PHONE),
        ("phone_number.removed", SECOND_PHONE),
    ]
    assert events[0]["data"]["phone"] == as_json(PhoneNumberView.of(added))
    assert events[1]["data"]["phone"] == as_json(PhoneNumberView.of(gone))
    assert "changes" not in events[0]["data"]


def test_one_refresh_writes_the_waba_first_then_each_number_in_order_numbered_without_gaps() -> None:
    before = snapshot(phone(PHONE), phone(SECOND_PHONE))
    after = snapshot(
        phone(PHONE, quality_rating="RED"),
        phone(SECOND_PHONE, status="FLAGGED"),
        phone(NEW_PHONE),
        at=T0 + timedelta(minutes=1),
        name="PT TIG TECH INDONESIA",
    )

    events = written(before, after, first_sequence=41)

    assert [(event["type"], event["data"].get("phoneNumberId")) for event in events] == [
        ("waba.updated", None),
        ("phone_number.updated", PHONE),
        ("phone_number.updated", SECOND_PHONE),
        ("phone_number.added", NEW_PHONE),
    ]
    assert [event["data"]["sequence"] for event in events] == [41, 42, 43, 44]
    assert len({event["id"] for event in events}) == 4


def test_a_snapshot_that_changed_nothing_writes_no_event() -> None:
    before = snapshot(phone(PHONE))

    assert written(before, snapshot(phone(PHONE), at=T0 + timedelta(minutes=1))) == []


def test_binding_events_carry_binds_data_and_the_source() -> None:
    binding = Binding("IW0001", WABA, PHONE, "6285212340016", bound_at=T0)

    created = binding_event(binding, created=True, source="bind", at=NOW)
    removed = binding_event(binding, created=False, source="operator", at=NOW)
    [first, second] = [json.loads(e.document) for e in issue([created, removed], first_sequence=1, now=NOW)]

    assert (first["type"], first["timestamp"]) == ("binding.created", "2026-11-27T09:00:00Z")
    assert (second["type"], second["timestamp"]) == ("binding.removed", "2026-11-27T09:00:05Z")
    assert first["data"] == {
        "accountName": "IW0001",
        "wabaId": WABA,
        "sequence": 1,
        "source": "bind",
        "phoneNumberId": PHONE,
        "binding": as_json(BindingView.of(binding)),
    }
    assert second["data"]["source"] == "operator"


def test_an_account_update_passes_metas_event_and_value_on_as_received() -> None:
    value = '{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"SCAM"},"extra":[1,2.50,null]}'
    kept = WebhookEvent(NOW, WABA, WABA, "account_update", "ACCOUNT_VIOLATION", value, "fingerprint")

    draft = account_update_event("IW0001", kept)
    assert draft is not None
    [event] = issue([draft], first_sequence=7, now=NOW)

    assert event.document.endswith(b'"event":"ACCOUNT_VIOLATION","value":' + value.encode() + b"}}")
    data = json.loads(event.document)["data"]
    assert (data["source"], data["sequence"], data["event"]) == ("webhook", 7, "ACCOUNT_VIOLATION")


def test_a_capability_update_is_no_customer_event() -> None:
    kept = WebhookEvent(NOW, WABA, WABA, "business_capability_update", None, "{}", "fingerprint")

    assert account_update_event("IW0001", kept) is None


def test_the_stored_event_is_its_document_with_whom_it_is_for() -> None:
    before = snapshot(phone(PHONE))
    after = snapshot(phone(PHONE, status="FLAGGED"), at=T0 + timedelta(minutes=1))
    changes = changes_between(before, after, at=after.fetched_at, source="request")

    [event] = issue(snapshot_events("IW0001", before, after, changes), first_sequence=3, now=NOW)
    document = json.loads(event.document)

    assert event == CustomerEvent(
        id=document["id"],
        account_name="IW0001",
        waba_id=WABA,
        sequence=3,
        type="phone_number.updated",
        created_at=NOW,
        document=event.document,
    )
    assert list(document) == ["type", "id", "timestamp", "data"]
    assert list(document["data"])[:4] == ["accountName", "wabaId", "sequence", "source"]


def test_events_of_two_wabas_cannot_share_a_run_of_sequence_numbers() -> None:
    one = binding_event(Binding("IW0001", WABA, PHONE, "1", T0), created=True, source="bind", at=T0)
    other = binding_event(Binding("IW0001", "1", "2", "1", T0), created=True, source="bind", at=T0)

    with pytest.raises(ValueError, match="several WABAs"):
        issue([one, other], first_sequence=1, now=NOW)
    assert issue([], first_sequence=1, now=NOW) == []
    assert isinstance(one, EventDraft)


def test_an_event_id_is_evt_and_a_ulid_of_the_time_it_was_written() -> None:
    zero = new_event_id(datetime(1970, 1, 1, tzinfo=UTC), lambda size: bytes(size))
    random = new_event_id(datetime(1970, 1, 1, tzinfo=UTC), lambda size: b"\xff" * size)
    later = new_event_id(datetime(1970, 1, 1, 0, 0, 0, 32000, tzinfo=UTC), lambda size: bytes(size))

    assert zero == "evt_" + "0" * 26
    assert random == "evt_" + "0" * 10 + "Z" * 16  # the time is the first 10 characters, the randomness the last 16
    assert later == "evt_" + "0" * 8 + "10" + "0" * 16  # 32 ms
    assert re.fullmatch(EVENT_ID_PATTERN, new_event_id(NOW))


def test_event_ids_sort_by_the_time_they_were_written_and_do_not_repeat() -> None:
    ids = [new_event_id(NOW + timedelta(milliseconds=step)) for step in range(0, 50, 5)]

    assert ids == sorted(ids)
    assert len({new_event_id(NOW) for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    ("text", "is_id"),
    [
        ("evt_01KB9X4T3M8Q2ZC5V7N6HJ0RWD", True),
        ("evt_01kb9x4t3m8q2zc5v7n6hj0rwd", False),
        ("evt_01KB9X4T3M8Q2ZC5V7N6HJ0RW", False),
        ("evt_01KB9X4T3M8Q2ZC5V7N6HJ0RWDX", False),
        ("evt_01KB9X4T3M8Q2ZC5V7N6HJ0RWI", False),
        ("01KB9X4T3M8Q2ZC5V7N6HJ0RWDXX", False),
        ("", False),
    ],
)
def test_an_event_id_is_recognised_by_its_form(text: str, is_id: bool) -> None:
    assert is_event_id(text) is is_id
