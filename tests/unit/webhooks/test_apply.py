"""Applying Meta's webhooks: what each recorded field does, what is ignored, and how changes are counted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import WabaNotAccessible
from intwa.domain.webhooks.apply import ApplyWebhook, WebhookReceipt
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.webhooks.conftest import fetches
from tests.webhook_examples import META_PARTNER_BUSINESS_ID, META_WABA_ID, fixture_body, notification, restamped

# account_review_update


@pytest.mark.usefixtures("bound")
async def test_a_review_decision_sets_the_wabas_review_status_once(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    body = restamped(fixture_body("account_review_update"))  # posted as the decision is made

    first = await apply_webhook(body)
    replay = await apply_webhook(body)

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


# account_update and business_capability_update


@pytest.mark.usefixtures("bound")
async def test_a_removed_partner_is_recorded_once_and_refreshes_the_waba_named_in_the_value(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    await apply_webhook(fixture_body("account_update_partner_removed"))
    await apply_webhook(fixture_body("account_update_partner_removed"))
    await apply_webhook.drain()

    events = await storage.list_webhook_events(META_WABA_ID)
    assert [(e.object_id, e.waba_id, e.field, e.event) for e in events] == [
        (META_PARTNER_BUSINESS_ID, META_WABA_ID, "account_update", "PARTNER_REMOVED")
    ]
    assert json.loads(events[0].payload)["disconnection_info"] == {
        "reason": "PRIMARY_INACTIVITY",
        "initiated_by": "SYSTEM",
    }
    assert fetches(provider) == calls + 2  # one refresh for the burst


@pytest.mark.usefixtures("bound")
async def test_an_uninstalled_app_makes_the_waba_inaccessible_once_meta_no_longer_answers_for_it(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    provider.fail_with(META_WABA_ID, WabaNotAccessible("the platform's app is not installed on this WABA"))
    value = {"event": "PARTNER_APP_UNINSTALLED", "waba_info": {"waba_id": META_WABA_ID}}

    await apply_webhook(notification("account_update", value, entry_id=META_PARTNER_BUSINESS_ID))
    await apply_webhook.drain()

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert (snapshot.accessible, snapshot.waba.name) == (False, "Lucky Shrub")


@pytest.mark.usefixtures("bound")
async def test_a_restriction_is_recorded_for_the_entrys_waba_and_refreshes_it(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    calls = fetches(provider)

    await apply_webhook(fixture_body("account_update_restriction"))
    await apply_webhook.drain()

    events = await storage.list_webhook_events(META_WABA_ID)
    assert [(e.object_id, e.event) for e in events] == [(META_WABA_ID, "ACCOUNT_RESTRICTION")]
    assert fetches(provider) == calls + 2


@pytest.mark.usefixtures("bound")
async def test_a_capability_update_is_recorded_once(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    body = _for_meta_waba(fixture_body("business_capability_update"))
    await apply_webhook(body)
    clock.advance(60)
    await apply_webhook(body)
    await apply_webhook.drain()

    events = await storage.list_webhook_events()
    assert [(e.object_id, e.waba_id, e.field, e.event) for e in events] == [
        (META_WABA_ID, META_WABA_ID, "business_capability_update", None)
    ]
    assert json.loads(events[0].payload) == {
        "max_daily_conversations_per_business": 2000,
        "max_phone_numbers_per_waba": 25,
    }


@pytest.mark.usefixtures("bound")
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
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    entries = [
        json.loads(restamped(_for_meta_waba(fixture_body(name))))["entry"][0]
        for name in ("account_review_update", "business_capability_update")
    ]
    entries[0]["changes"].append({"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION", "new": 1}})
    provider.update_waba(META_WABA_ID, account_review_status="APPROVED")  # what the refreshes then read
    body = json.dumps({"object": "whatsapp_business_account", "entry": entries}).encode()

    receipt = await apply_webhook(body)
    await apply_webhook.drain()

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


def _for_meta_waba(body: bytes) -> bytes:
    """A documented payload about Meta's example WABA, the one the tests bind, whatever WABA it names."""
    document = json.loads(body)
    for entry in document["entry"]:
        entry["id"] = META_WABA_ID
    return json.dumps(document).encode()
