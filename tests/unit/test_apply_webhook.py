"""Applying Meta's webhooks: each field's effect over in-memory fakes, and what is ignored."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import ProviderUnavailable
from intwa.domain.queries import PhoneInfo
from intwa.domain.snapshots import Snapshots
from intwa.domain.webhooks.apply import ApplyWebhook, WebhookReceipt
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.webhook_examples import (
    META_PARTNER_BUSINESS_ID,
    META_PHONE_ID,
    META_WABA_ID,
    fake_data_with_meta_waba,
    fixture_body,
    notification,
)


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    path = tmp_path / "fake-data.json"
    path.write_text(json.dumps(fake_data_with_meta_waba()), encoding="utf-8")
    return path


@pytest.fixture
def apply_webhook(storage: InMemoryStorage, snapshots: Snapshots, clock: FakeClock) -> ApplyWebhook:
    return ApplyWebhook(storage, snapshots, clock)


@pytest.fixture
async def bound(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    await accounts.create("IW0001")
    await bind("IW0001", META_WABA_ID, META_PHONE_ID)


def fetches(provider: FakeProvider) -> int:
    return provider.calls["fetch_waba"] + provider.calls["fetch_phone_numbers"]


# account_review_update


@pytest.mark.usefixtures("bound")
async def test_a_review_decision_sets_the_wabas_review_status_once(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    first = await apply_webhook(fixture_body("account_review_update"))
    replay = await apply_webhook(fixture_body("account_review_update"))

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.waba.review_status == "APPROVED"
    history = await storage.list_history(META_WABA_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [("wabaStatus", "PENDING", "APPROVED", "webhook")]
    assert first == replay == WebhookReceipt(applied=1)
    assert fetches(provider) == calls


async def test_a_review_decision_for_an_unbound_waba_changes_nothing(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage
) -> None:
    await apply_webhook(fixture_body("account_review_update"))

    assert await storage.get_snapshot(META_WABA_ID) is None
    assert await storage.list_history() == []


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize("value", [None, "APPROVED", [], {}, {"decision": None}, {"decision": 7}])
async def test_a_review_decision_without_a_decision_is_ignored(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, value: Any
) -> None:
    receipt = await apply_webhook(notification("account_review_update", value))

    assert receipt == WebhookReceipt(ignored=1)
    assert await storage.list_history() == []


# phone_number_quality_update and phone_number_name_update


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize("name", ["phone_number_quality_update", "phone_number_name_update"])
async def test_a_phone_update_refreshes_the_waba_after_answering(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, name: str
) -> None:
    provider.update_phone(
        META_WABA_ID, META_PHONE_ID, whatsapp_business_manager_messaging_limit="TIER_UNLIMITED", verified_name="Shrub"
    )
    calls = fetches(provider)

    receipt = await apply_webhook(fixture_body(name))
    calls_when_answered = fetches(provider)
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert calls_when_answered == calls
    assert fetches(provider) == calls + 2  # the WABA and its phone numbers, once
    history = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert [(c.field, c.new, c.source) for c in history] == [
        ("messageLimit", "TIER_UNLIMITED", "webhook"),
        ("verifiedName", "Shrub", "webhook"),
    ]


@pytest.mark.usefixtures("bound")
async def test_updates_of_one_waba_arriving_together_make_one_refresh(
    apply_webhook: ApplyWebhook, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    await apply_webhook(fixture_body("phone_number_quality_update"))
    await apply_webhook(fixture_body("phone_number_name_update"))
    await apply_webhook(fixture_body("phone_number_quality_update_legacy"))
    await apply_webhook.drain()

    assert fetches(provider) == calls + 2


@pytest.mark.usefixtures("bound")
async def test_an_update_during_a_refresh_refreshes_once_more(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    provider.latency_seconds = 0.05
    await apply_webhook(fixture_body("phone_number_quality_update"))
    await _phone_numbers_fetched(provider, 2)  # the bind's, then the refresh's
    provider.update_phone(META_WABA_ID, META_PHONE_ID, quality_rating="RED")

    await apply_webhook(fixture_body("phone_number_quality_update"))
    await apply_webhook.drain()

    assert provider.calls["fetch_phone_numbers"] == 3
    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.phone_numbers[0].quality_rating == "RED"


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize(
    "value", [{"display_phone_number": "16315550000"}, {"display_phone_number": ""}, {}, None, "16315555555"]
)
async def test_an_update_of_an_unknown_phone_number_refreshes_nothing(
    apply_webhook: ApplyWebhook, provider: FakeProvider, value: Any
) -> None:
    calls = fetches(provider)

    receipt = await apply_webhook(notification("phone_number_quality_update", value))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(ignored=1)
    assert fetches(provider) == calls


async def test_an_update_of_an_unbound_wabas_phone_refreshes_nothing(
    apply_webhook: ApplyWebhook, provider: FakeProvider
) -> None:
    receipt = await apply_webhook(fixture_body("phone_number_quality_update"))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(ignored=1)
    assert fetches(provider) == 0


@pytest.mark.usefixtures("bound")
async def test_a_failed_refresh_is_logged_and_raises_nothing(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    provider.fail_with(META_WABA_ID, ProviderUnavailable("Meta is down"))

    with caplog.at_level(logging.WARNING, logger="intwa.webhooks"):
        receipt = await apply_webhook(fixture_body("phone_number_quality_update"))
        await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert "webhook refresh of WABA 102290129340398 failed: 50300 Meta is down" in caplog.messages
    assert await storage.list_history() == []


@pytest.mark.usefixtures("bound")
async def test_closing_cancels_pending_refreshes(apply_webhook: ApplyWebhook, provider: FakeProvider) -> None:
    provider.latency_seconds = 10

    await apply_webhook(fixture_body("phone_number_quality_update"))
    await _phone_numbers_fetched(provider, 2)
    await apply_webhook.close()
    await apply_webhook.drain()  # returns at once: nothing is pending


# account_update and business_capability_update


@pytest.mark.usefixtures("bound")
async def test_a_removed_partner_is_recorded_once_and_the_next_read_asks_meta(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    await apply_webhook(fixture_body("account_update_partner_removed"))
    await apply_webhook(fixture_body("account_update_partner_removed"))

    events = await storage.list_webhook_events(META_WABA_ID)
    assert [(e.object_id, e.waba_id, e.field, e.event) for e in events] == [
        (META_PARTNER_BUSINESS_ID, META_WABA_ID, "account_update", "PARTNER_REMOVED")
    ]
    assert json.loads(events[0].payload)["disconnection_info"] == {
        "reason": "PRIMARY_INACTIVITY",
        "initiated_by": "SYSTEM",
    }
    await PhoneInfo(storage, snapshots)("IW0001", META_WABA_ID)
    assert fetches(provider) == calls + 2


@pytest.mark.usefixtures("bound")
async def test_an_uninstalled_app_expires_the_waba_named_in_the_value(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    value = {"event": "PARTNER_APP_UNINSTALLED", "waba_info": {"waba_id": META_WABA_ID}}

    await apply_webhook(notification("account_update", value, entry_id=META_PARTNER_BUSINESS_ID))

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.fetched_at < clock.now()


@pytest.mark.usefixtures("bound")
async def test_other_account_updates_are_recorded_for_the_entrys_waba_without_expiring_it(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await apply_webhook(fixture_body("account_update_restriction"))

    events = await storage.list_webhook_events(META_WABA_ID)
    assert [(e.object_id, e.event) for e in events] == [(META_WABA_ID, "ACCOUNT_RESTRICTION")]
    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.fetched_at == clock.now()


async def test_a_capability_update_is_recorded_once(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await apply_webhook(fixture_body("business_capability_update"))
    clock.advance(60)
    await apply_webhook(fixture_body("business_capability_update"))

    events = await storage.list_webhook_events()
    assert [(e.object_id, e.waba_id, e.field, e.event) for e in events] == [
        ("524126980791429", None, "business_capability_update", None)
    ]
    assert json.loads(events[0].payload) == {
        "max_daily_conversations_per_business": 2000,
        "max_phone_numbers_per_waba": 25,
    }


async def test_a_changed_value_at_another_time_is_another_event(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage
) -> None:
    await apply_webhook(notification("business_capability_update", {"max_phone_numbers_per_waba": 25}, time=1))
    await apply_webhook(notification("business_capability_update", {"max_phone_numbers_per_waba": 50}, time=2))

    assert len(await storage.list_webhook_events()) == 2


# what is ignored


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize(
    "body",
    [
        notification("message_template_status_update", {"event": "APPROVED"}),
        json.dumps({"object": "page", "entry": json.loads(fixture_body("account_review_update"))["entry"]}).encode(),
        json.dumps({"object": "whatsapp_business_account", "entry": [{"changes": []}]}).encode(),
    ],
    ids=["unknown field", "unknown object", "entry without id"],
)
async def test_unknown_fields_and_objects_are_accepted_and_ignored(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, body: bytes
) -> None:
    calls = fetches(provider)

    receipt = await apply_webhook(body)
    await apply_webhook.drain()

    assert receipt.applied == 0
    assert await storage.list_history() == []
    assert await storage.list_webhook_events() == []
    assert fetches(provider) == calls


@pytest.mark.usefixtures("bound")
async def test_every_entry_and_change_of_a_post_is_applied(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage
) -> None:
    entries = [
        json.loads(fixture_body(name))["entry"][0] for name in ("account_review_update", "business_capability_update")
    ]
    entries[0]["changes"].append({"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION", "new": 1}})
    body = json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()

    receipt = await apply_webhook(body)

    assert receipt == WebhookReceipt(applied=3)
    assert [c.field for c in await storage.list_history()] == ["wabaStatus"]
    assert [e.field for e in await storage.list_webhook_events()] == ["account_update", "business_capability_update"]


# counting


async def test_changes_are_counted_by_handled_field_and_the_rest_as_other(apply_webhook: ApplyWebhook) -> None:
    await apply_webhook(notification("account_update", {"event": "ACCOUNT_VIOLATION"}))
    await apply_webhook(notification("message_template_status_update", {"event": "APPROVED"}))
    await apply_webhook(notification("message_template_status_update", {"event": "REJECTED"}))

    assert apply_webhook.fields == (
        "account_review_update",
        "phone_number_quality_update",
        "phone_number_name_update",
        "account_update",
        "business_capability_update",
        "other",
    )
    assert apply_webhook.events == {"account_update": 1, "other": 2}


async def _phone_numbers_fetched(provider: FakeProvider, times: int) -> None:
    """Wait until the provider has been asked for phone numbers `times` times (a refresh is under way)."""
    for _ in range(2000):
        if provider.calls["fetch_phone_numbers"] >= times:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"the provider was not asked for phone numbers {times} times")
