"""Account and capability events refresh the WABA; a WABA Meta no longer answers for becomes inaccessible."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from intwa.domain.models import WabaUsage
from intwa.domain.queries import ListPhoneNumbers, ListWabas
from intwa.domain.snapshots import Snapshots
from intwa.domain.webhooks.apply import REFRESHING_EVENTS, ApplyWebhook, WebhookReceipt
from tests.fakes.clock import ClockSleep, FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.webhooks.conftest import RETENTION_DAYS, fetches
from tests.webhook_examples import META_PARTNER_BUSINESS_ID, META_PHONE_ID, META_WABA_ID, notification

pytestmark = pytest.mark.usefixtures("bound")

GONE = WabaNotAccessible("Meta: Unsupported get request. Object with ID '102290129340398' does not exist")


def account_event(event: str, **extra: object) -> bytes:
    """An `account_update` as Meta posts it: partner events name the WABA in `waba_info`, on the partner's entry."""
    if event.startswith("PARTNER_"):
        value = {"event": event, "waba_info": {"waba_id": META_WABA_ID, "owner_business_id": "1234"}, **extra}
        return notification("account_update", value, entry_id=META_PARTNER_BUSINESS_ID)
    return notification("account_update", {"event": event, **extra})


@pytest.mark.parametrize("event", sorted(REFRESHING_EVENTS))
async def test_an_account_event_refreshes_the_waba_and_is_kept(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, event: str
) -> None:
    provider.update_phone(META_WABA_ID, META_PHONE_ID, status="RESTRICTED")
    calls = fetches(provider)

    receipt = await apply_webhook(account_event(event))
    calls_when_answered = fetches(provider)
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert calls_when_answered == calls  # Meta is answered before the refresh
    assert fetches(provider) == calls + 2
    history = await storage.list_history(META_WABA_ID)
    assert [(c.phone_number_id, c.field, c.old, c.new, c.source) for c in history] == [
        (META_PHONE_ID, "status", "CONNECTED", "RESTRICTED", "webhook")
    ]
    assert [(e.waba_id, e.event) for e in await storage.list_webhook_events()] == [(META_WABA_ID, event)]


async def test_a_disabled_waba_shows_in_phone_info_at_once(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    provider.update_phone(META_WABA_ID, META_PHONE_ID, status="BANNED")
    ban = {"waba_ban_state": ["DISABLE"], "waba_ban_date": "April 17, 2025"}

    await apply_webhook(account_event("DISABLED_UPDATE", ban_info=ban))
    await apply_webhook.drain()

    phones = await ListPhoneNumbers(storage, snapshots)("IW0001", META_WABA_ID)
    assert [phone.status for phone in phones] == ["BANNED"]


async def test_a_deleted_waba_becomes_inaccessible_and_comes_back_when_meta_answers_again(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    provider.fail_with(META_WABA_ID, GONE)

    await apply_webhook(account_event("ACCOUNT_DELETED"))
    await apply_webhook.drain()

    with pytest.raises(WabaNotAccessible):
        await ListPhoneNumbers(storage, snapshots)("IW0001", META_WABA_ID)
    [listed] = await ListWabas(storage, snapshots)("IW0001")
    assert (listed.waba.id, listed.waba.name, listed.waba.review_status, listed.accessible) == (
        META_WABA_ID,
        "Lucky Shrub",  # the last known values
        "PENDING",
        False,
    )

    provider.fail_with(META_WABA_ID, None)
    await apply_webhook(account_event("PARTNER_ADDED"))
    await apply_webhook.drain()

    phones = await ListPhoneNumbers(storage, snapshots)("IW0001", META_WABA_ID)
    assert [phone.id for phone in phones] == [META_PHONE_ID]
    history = await storage.list_history(META_WABA_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [
        ("accessible", "true", "false", "webhook"),
        ("accessible", "false", "true", "webhook"),
    ]


@pytest.mark.parametrize("event", ["AD_ACCOUNT_LINKED", "MM_LITE_TERMS_SIGNED", "VOLUME_BASED_PRICING_TIER_UPDATE"])
async def test_other_account_events_are_kept_and_refresh_nothing(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, event: str
) -> None:
    calls = fetches(provider)

    receipt = await apply_webhook(account_event(event))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert fetches(provider) == calls
    assert [(e.waba_id, e.event) for e in await storage.list_webhook_events()] == [(META_WABA_ID, event)]


async def test_a_capability_update_refreshes_the_numbers_messaging_limit(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    provider.update_phone(META_WABA_ID, META_PHONE_ID, whatsapp_business_manager_messaging_limit="TIER_10K")
    value = {"max_daily_conversations_per_business": 10000, "max_phone_numbers_per_waba": 25}

    receipt = await apply_webhook(notification("business_capability_update", value))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    history = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [("messageLimit", "TIER_1K", "TIER_10K", "webhook")]


async def test_events_for_wabas_that_are_not_bound_are_not_kept(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    calls = fetches(provider)
    value = {"max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25}

    for n in range(500):
        await apply_webhook(notification("business_capability_update", value, entry_id=f"5241269807{n:05d}"))
    receipt = await apply_webhook(
        notification("account_update", {"event": "ACCOUNT_DELETED"}, entry_id="524126980791429")
    )
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(ignored=1)
    assert await storage.list_webhook_events() == []
    assert fetches(provider) == calls


async def test_events_older_than_the_retention_are_deleted(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    await apply_webhook(account_event("AD_ACCOUNT_LINKED"))
    clock.advance(timedelta(days=RETENTION_DAYS, hours=2).total_seconds())

    await apply_webhook(account_event("MM_LITE_TERMS_SIGNED"))

    assert [e.event for e in await storage.list_webhook_events()] == ["MM_LITE_TERMS_SIGNED"]
    # The customer events too: the bind's and the first update's are gone, the second update's is kept.
    assert [event.type for event in storage.events] == ["waba.account_update"]
    assert json.loads(storage.events[0].document)["data"]["event"] == "MM_LITE_TERMS_SIGNED"


async def test_an_account_update_becomes_a_customer_event_with_metas_value_as_received(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    restriction = {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1764322230}
    body = account_event("ACCOUNT_RESTRICTION", restriction_info=[restriction])

    await apply_webhook(body)
    await apply_webhook(body)  # Meta's redelivery
    await apply_webhook.drain()

    account_updates = [event for event in storage.events if event.type == "waba.account_update"]
    assert len(account_updates) == 1
    document = json.loads(account_updates[0].document)
    assert document["timestamp"] == clock.now().isoformat().replace("+00:00", "Z")
    assert document["data"] == {
        "accountName": "IW0001",
        "wabaId": META_WABA_ID,
        "sequence": 2,
        "source": "webhook",
        "event": "ACCOUNT_RESTRICTION",
        "value": json.loads(body)["entry"][0]["changes"][0]["value"],
    }


async def test_a_partner_event_is_a_customer_event_of_the_wabas_account(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage
) -> None:
    await apply_webhook(account_event("PARTNER_REMOVED"))
    await apply_webhook.drain()

    [event] = [event for event in storage.events if event.type == "waba.account_update"]
    assert (event.account_name, event.waba_id) == ("IW0001", META_WABA_ID)
    assert json.loads(event.document)["data"]["value"]["waba_info"]["waba_id"] == META_WABA_ID


# refreshes deferred while the WABA's refreshes wait


async def test_a_quality_update_while_meta_throttles_the_waba_is_deferred_until_it_may_call_again(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, provider: FakeProvider, clock: FakeClock, sleep: ClockSleep
) -> None:
    regain_at = clock.now() + timedelta(minutes=10)
    provider.set_usage(META_WABA_ID, WabaUsage(95, 10, 10, regain_access_at=regain_at))
    provider.update_phone(META_WABA_ID, META_PHONE_ID, quality_rating="RED")
    calls = fetches(provider)

    await apply_webhook(notification("phone_number_quality_update", {"display_phone_number": "16315555555"}))
    await apply_webhook.drain()

    assert sleep.slept == [600.0]
    assert fetches(provider) == calls + 2
    [change] = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert (change.field, change.new, change.at) == ("qualityRating", "RED", regain_at)


async def test_a_quality_update_whose_refresh_fails_is_retried_when_the_pause_ends(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.fail_with(META_WABA_ID, ProviderUnavailable("Meta is down", retry_after_seconds=45))
    provider.update_phone(META_WABA_ID, META_PHONE_ID, quality_rating="YELLOW")
    slept: list[float] = []

    async def sleep_while_meta_recovers(seconds: float) -> None:
        slept.append(seconds)
        provider.fail_with(META_WABA_ID, None)
        clock.advance(seconds)

    apply_webhook = ApplyWebhook(storage, snapshots, clock, sleep=sleep_while_meta_recovers)
    await apply_webhook(notification("phone_number_quality_update", {"display_phone_number": "16315555555"}))
    await apply_webhook.drain()

    assert slept == [45.0]  # the pause after a failed refresh: Meta's Retry-After
    [change] = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert (change.field, change.new, change.source) == ("qualityRating", "YELLOW", "webhook")


async def test_a_refresh_meta_never_answers_is_given_up_after_a_day(
    apply_webhook: ApplyWebhook, provider: FakeProvider, sleep: ClockSleep
) -> None:
    provider.fail_with(META_WABA_ID, ProviderUnavailable("Meta is down"))

    await apply_webhook(notification("phone_number_quality_update", {"display_phone_number": "16315555555"}))
    await apply_webhook.drain()

    assert sum(sleep.slept) == timedelta(days=1).total_seconds()
    assert apply_webhook.pending == 0


# account_review_update and the event's time


async def test_a_late_review_decision_never_rolls_a_newer_one_back(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    bound_at = int(clock.now().timestamp())
    clock.advance(60)
    rejected = notification("account_review_update", {"decision": "REJECTED"}, time=bound_at + 10)
    approved = notification("account_review_update", {"decision": "APPROVED"}, time=bound_at + 20)

    await apply_webhook(rejected)
    await apply_webhook(approved)
    await apply_webhook(rejected)  # redelivered late

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.waba.review_status == "APPROVED"
    history = await storage.list_history(META_WABA_ID)
    assert [(c.old, c.new) for c in history] == [("PENDING", "REJECTED"), ("REJECTED", "APPROVED")]


async def test_a_review_decision_older_than_the_snapshot_changes_nothing(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    event_time = int(clock.now().timestamp()) - 5  # the bind read Meta after the decision

    await apply_webhook(notification("account_review_update", {"decision": "REJECTED"}, time=event_time))

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.waba.review_status == "PENDING"
    assert await storage.list_history() == []


async def test_a_review_decision_within_the_second_of_the_fetch_is_applied(
    apply_webhook: ApplyWebhook, storage: InMemoryStorage, clock: FakeClock
) -> None:
    # Meta's time has whole seconds: a decision in the second the snapshot was fetched may be the newer.
    clock.advance(0.5)
    event_time = int(clock.now().timestamp())

    await apply_webhook(notification("account_review_update", {"decision": "APPROVED"}, time=event_time))

    snapshot = await storage.get_snapshot(META_WABA_ID)
    assert snapshot is not None
    assert snapshot.waba.review_status == "APPROVED"
