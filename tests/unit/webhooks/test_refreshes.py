"""Phone quality and name updates: the WABA is refreshed from the provider after the answer to Meta."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import ProviderUnavailable
from intwa.domain.webhooks.apply import ApplyWebhook, WebhookReceipt
from tests.fakes.clock import ClockSleep
from tests.fakes.storage import InMemoryStorage
from tests.unit.webhooks.conftest import fetches
from tests.webhook_examples import META_PHONE_ID, META_WABA_ID, fixture_body, notification

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
@pytest.mark.parametrize("value", [{"display_phone_number": ""}, {}, None, "16315555555"])
async def test_an_update_that_names_no_phone_number_refreshes_nothing(
    apply_webhook: ApplyWebhook, provider: FakeProvider, value: Any
) -> None:
    calls = fetches(provider)

    receipt = await apply_webhook(notification("phone_number_quality_update", value))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(ignored=1)
    assert fetches(provider) == calls


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize("field", ["phone_number_quality_update", "phone_number_name_update"])
async def test_an_update_of_a_number_not_in_the_snapshot_yet_refreshes_its_bound_waba(
    apply_webhook: ApplyWebhook, provider: FakeProvider, field: str
) -> None:
    # A number added to the WABA after it was bound is not in the snapshot; Meta's update is its first news.
    calls = fetches(provider)

    receipt = await apply_webhook(notification(field, {"display_phone_number": "16315550000", "event": "UPGRADE"}))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert fetches(provider) == calls + 2  # the WABA and its phone numbers


async def test_an_update_of_an_unbound_wabas_phone_refreshes_nothing(
    apply_webhook: ApplyWebhook, provider: FakeProvider
) -> None:
    receipt = await apply_webhook(fixture_body("phone_number_quality_update"))
    await apply_webhook.drain()

    assert receipt == WebhookReceipt(ignored=1)
    assert fetches(provider) == 0


@pytest.mark.usefixtures("bound")
async def test_a_failed_refresh_is_logged_retried_after_each_pause_and_raises_nothing(
    apply_webhook: ApplyWebhook,
    storage: InMemoryStorage,
    provider: FakeProvider,
    sleep: ClockSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.fail_with(META_WABA_ID, ProviderUnavailable("Meta is down", retry_after_seconds=3600))

    with caplog.at_level(logging.WARNING, logger="intwa.webhooks"):
        receipt = await apply_webhook(fixture_body("phone_number_quality_update"))
        await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    # Meta's Retry-After, capped at five minutes, between the attempts of a day.
    assert set(sleep.slept) == {300.0}
    assert len(sleep.slept) == 24 * 60 // 5
    assert caplog.messages[0] == "webhook refresh of WABA 102290129340398 failed, to be retried: 50300 Meta is down"
    assert caplog.messages[-1] == "webhook refresh of WABA 102290129340398 given up: 50300 Meta is down"
    assert await storage.list_history() == []


@pytest.mark.usefixtures("bound")
async def test_closing_cancels_pending_refreshes(apply_webhook: ApplyWebhook, provider: FakeProvider) -> None:
    provider.latency_seconds = 10

    await apply_webhook(fixture_body("phone_number_quality_update"))
    await _phone_numbers_fetched(provider, 2)
    await apply_webhook.close()
    await apply_webhook.drain()  # returns at once: nothing is pending


async def _phone_numbers_fetched(provider: FakeProvider, times: int) -> None:
    """Wait until the provider has been asked for phone numbers `times` times (a refresh is under way)."""
    for _ in range(2000):
        if provider.calls["fetch_phone_numbers"] >= times:
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"the provider was not asked for phone numbers {times} times")
