"""What every `Storage` backend promises about customer events (SPEC §3.10): written with their cause, read in order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from intwa.domain.documents import BindingView, PhoneNumberView
from intwa.domain.errors import BindingNotFound, WabaBoundToAnotherAccount
from intwa.domain.events import is_event_id
from intwa.domain.models import CustomerEvent, WebhookEvent
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import at, binding_of, create_accounts
from tests.adapters.storage.test_history_contract import (
    OTHER_PHONE,
    OTHER_WABA,
    PHONE,
    SECOND_PHONE,
    WABA,
    bound,
    changed,
    snapshot,
)

EVER = datetime(2000, 1, 1, tzinfo=UTC)
"""A `since` before every event a test writes."""


async def events_of(storage: Storage, account: str = "acme", *, after: str | None = None) -> list[CustomerEvent]:
    events = await storage.read_events(account, after=after, limit=500, since=EVER)
    assert events is not None
    return events


def documents(events: list[CustomerEvent]) -> list[dict[str, Any]]:
    return [json.loads(event.document) for event in events]


def as_json(view: msgspec.Struct) -> Any:
    return json.loads(msgspec.json.encode(view))


def kinds(events: list[CustomerEvent]) -> list[tuple[str, str | None, int]]:
    """Each event's type, phone number (None for the WABA's own) and sequence."""
    return [(d["type"], d["data"].get("phoneNumberId"), d["data"]["sequence"]) for d in documents(events)]


def account_update(fingerprint: str, waba_id: str = WABA, field: str = "account_update") -> WebhookEvent:
    value = '{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED"}]}'
    event = "ACCOUNT_RESTRICTION" if field == "account_update" else None
    return WebhookEvent(datetime.now(UTC), waba_id, waba_id, field, event, value, fingerprint)


# bindings


async def test_a_bind_writes_binding_created_with_binds_data_for_the_account(storage: Storage) -> None:
    await bound(storage)

    [event] = await events_of(storage)
    [document] = documents([event])

    assert (event.account_name, event.waba_id, event.sequence, event.type) == ("acme", WABA, 1, "binding.created")
    assert is_event_id(event.id)
    assert document["id"] == event.id
    assert document["timestamp"] == "2026-11-27T08:52:55.123456Z"
    assert document["data"] == {
        "accountName": "acme",
        "wabaId": WABA,
        "sequence": 1,
        "source": "bind",
        "phoneNumberId": PHONE,
        "binding": as_json(BindingView.of(binding_of("acme", WABA, PHONE))),
    }


async def test_binding_another_number_writes_the_changes_it_found_then_binding_created(storage: Storage) -> None:
    first = await bound(storage)
    refreshed = changed(first, PHONE, at(60), quality_rating="YELLOW")

    await storage.add_binding(binding_of("acme", WABA, SECOND_PHONE, at(60)), refreshed, source="operator")

    assert kinds(await events_of(storage)) == [
        ("binding.created", PHONE, 1),
        ("phone_number.updated", PHONE, 2),
        ("binding.created", SECOND_PHONE, 3),
    ]
    assert [d["data"]["source"] for d in documents(await events_of(storage))] == ["bind", "operator", "operator"]
    [change] = await storage.list_history()
    assert change.source == "operator"


async def test_binding_the_same_number_again_or_a_refused_bind_writes_no_event(storage: Storage) -> None:
    first = await bound(storage)
    await create_accounts(storage, "other")

    await storage.add_binding(binding_of("acme", WABA, PHONE, at(60)), first)
    with pytest.raises(WabaBoundToAnotherAccount):
        await storage.add_binding(binding_of("other", WABA, SECOND_PHONE), first)

    assert kinds(await events_of(storage)) == [("binding.created", PHONE, 1)]
    assert await events_of(storage, "other") == []


async def test_an_unbind_writes_binding_removed_with_its_source_and_a_refused_one_writes_nothing(
    storage: Storage,
) -> None:
    await bound(storage)

    with pytest.raises(BindingNotFound):
        await storage.remove_binding("acme", WABA, SECOND_PHONE)
    removed = await storage.remove_binding("acme", WABA, PHONE, source="operator")

    events = await events_of(storage)
    assert kinds(events) == [("binding.created", PHONE, 1), ("binding.removed", PHONE, 2)]
    data = documents(events)[1]["data"]
    assert data["source"] == "operator"
    assert data["binding"] == as_json(BindingView.of(removed))


# snapshots


async def test_a_refresh_writes_one_event_per_changed_waba_and_number_in_the_history_order(storage: Storage) -> None:
    first = await bound(storage)
    refreshed = changed(
        changed(snapshot(WABA, PHONE, OTHER_PHONE, fetched_at=at(60)), None, at(60), review_status="REJECTED"),
        PHONE,
        at(60),
        status="FLAGGED",
        quality_rating="RED",
    )

    changes = await storage.save_snapshot(refreshed, "sync")

    events = await events_of(storage)
    assert kinds(events)[1:] == [
        ("waba.updated", None, 2),
        ("phone_number.updated", PHONE, 3),
        ("phone_number.added", OTHER_PHONE, 4),
        ("phone_number.removed", SECOND_PHONE, 5),
    ]
    updated = documents(events)[2]["data"]
    assert updated["changes"] == [
        {"field": change.field, "old": change.old, "new": change.new}
        for change in changes
        if change.phone_number_id == PHONE
    ]
    assert updated["phone"] == as_json(PhoneNumberView.of(refreshed.phone_numbers[0]))
    assert documents(events)[4]["data"]["phone"] == as_json(PhoneNumberView.of(first.phone_numbers[1]))
    assert {event.created_at for event in events[1:]} == {events[1].created_at}


async def test_a_refresh_that_changed_nothing_is_older_or_of_an_unbound_waba_writes_no_event(storage: Storage) -> None:
    first = await bound(storage)
    await bound(storage, snapshot(OTHER_WABA, OTHER_PHONE), account="other")
    await storage.remove_binding("other", OTHER_WABA, OTHER_PHONE)
    await storage.save_snapshot(changed(first, PHONE, at(120), status="FLAGGED"), "sync")
    before = await events_of(storage)

    await storage.save_snapshot(changed(first, PHONE, at(180), status="FLAGGED"), "sync")
    await storage.save_snapshot(changed(first, PHONE, at(60), status="RESTRICTED"), "sync")
    await storage.save_snapshot(changed(snapshot(OTHER_WABA, OTHER_PHONE), None, at(60), name="X"), "sync")

    assert await events_of(storage) == before
    assert kinds(await events_of(storage, "other")) == [
        ("binding.created", OTHER_PHONE, 1),
        ("binding.removed", OTHER_PHONE, 2),
    ]


async def test_a_review_decision_writes_waba_updated_once(storage: Storage) -> None:
    await bound(storage)

    await storage.set_waba_review_status(WABA, "REJECTED", at(60), "webhook")
    await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook")

    events = await events_of(storage)
    assert kinds(events) == [("binding.created", PHONE, 1), ("waba.updated", None, 2)]
    data = documents(events)[1]["data"]
    assert data["changes"] == [{"field": "wabaStatus", "old": "APPROVED", "new": "REJECTED"}]
    assert (data["waba"]["wabaStatus"], data["source"]) == ("REJECTED", "webhook")
    assert documents(events)[1]["timestamp"] == "2026-11-27T08:53:55.123456Z"


# Meta's account updates


async def test_an_account_update_of_a_bound_waba_writes_waba_account_update_once(storage: Storage) -> None:
    await bound(storage)
    kept = account_update("sha256:restricted")

    assert await storage.record_webhook_event(kept) is True
    assert await storage.record_webhook_event(kept) is False

    events = await events_of(storage)
    assert kinds(events) == [("binding.created", PHONE, 1), ("waba.account_update", None, 2)]
    data = documents(events)[1]["data"]
    assert (data["event"], data["source"]) == ("ACCOUNT_RESTRICTION", "webhook")
    assert data["value"] == json.loads(kept.payload)
    assert events[1].document.endswith(b'"value":' + kept.payload.encode() + b"}}")


async def test_other_webhook_events_and_those_of_unbound_wabas_write_no_customer_event(storage: Storage) -> None:
    await bound(storage)

    await storage.record_webhook_event(account_update("sha256:capability", field="business_capability_update"))
    await storage.record_webhook_event(account_update("sha256:unbound", waba_id=OTHER_WABA))

    assert kinds(await events_of(storage)) == [("binding.created", PHONE, 1)]
    assert len(await storage.list_webhook_events()) == 2


# sequence and ownership


async def test_each_waba_numbers_its_own_events_and_keeps_counting_across_owners(storage: Storage) -> None:
    await bound(storage)
    await bound(storage, snapshot(OTHER_WABA, OTHER_PHONE))
    await storage.remove_binding("acme", WABA, PHONE)
    await bound(storage, account="other")

    assert kinds(await events_of(storage)) == [
        ("binding.created", PHONE, 1),
        ("binding.created", OTHER_PHONE, 1),
        ("binding.removed", PHONE, 2),
    ]
    assert kinds(await events_of(storage, "other")) == [("binding.created", PHONE, 3)]


# reading


async def test_the_feed_pages_through_an_accounts_events_in_the_order_they_were_written(storage: Storage) -> None:
    first = await bound(storage)
    await bound(storage, snapshot(OTHER_WABA, OTHER_PHONE))
    for step in range(1, 4):
        await storage.save_snapshot(changed(first, PHONE, at(60 * step), verified_name=f"TIG {step}"), "sync")
    everything = await events_of(storage)

    pages: list[list[CustomerEvent]] = []
    after = None
    while page := await storage.read_events("acme", after=after, limit=2, since=EVER):
        pages.append(page)
        after = page[-1].id

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [event for page in pages for event in page] == everything
    assert [event.waba_id for event in everything] == [WABA, OTHER_WABA, WABA, WABA, WABA]
    assert await storage.read_events("acme", after=everything[-1].id, limit=2, since=EVER) == []


async def test_an_unknown_event_or_one_of_another_account_is_no_place_to_read_from(storage: Storage) -> None:
    await bound(storage)
    await bound(storage, snapshot(OTHER_WABA, OTHER_PHONE), account="other")
    [theirs] = await events_of(storage, "other")

    assert await storage.read_events("acme", after=theirs.id, limit=10, since=EVER) is None
    assert await storage.read_events("acme", after="evt_" + "0" * 26, limit=10, since=EVER) is None
    assert await storage.read_events("nobody", after=None, limit=10, since=EVER) == []


async def test_events_written_before_since_are_neither_read_nor_a_place_to_read_from(storage: Storage) -> None:
    await bound(storage)
    [old] = await events_of(storage)
    await storage.remove_binding("acme", WABA, PHONE)
    [_, new] = await events_of(storage)

    assert await storage.read_events("acme", after=None, limit=10, since=new.created_at) == [new]
    assert await storage.read_events("acme", after=old.id, limit=10, since=new.created_at) is None
    assert await storage.read_events("acme", after=old.id, limit=10, since=old.created_at) == [new]


async def test_pruning_deletes_the_events_written_before_a_moment_and_nothing_later(storage: Storage) -> None:
    await bound(storage)
    await storage.remove_binding("acme", WABA, PHONE)
    old, new = await events_of(storage)

    assert await storage.prune_events(old.created_at) == 0
    assert await storage.prune_events(new.created_at) == 1

    assert await events_of(storage) == [new]
    assert await storage.read_events("acme", after=old.id, limit=10, since=EVER) is None
    assert await storage.prune_events(new.created_at + timedelta(microseconds=1)) == 1
    assert await events_of(storage) == []
