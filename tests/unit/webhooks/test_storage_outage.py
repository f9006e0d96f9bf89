"""Webhook refreshes while intwa's own storage is unavailable: deferred until it answers, never lost."""

from __future__ import annotations

import logging

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.webhooks.apply import ApplyWebhook, WebhookReceipt
from tests.fakes.clock import ClockSleep
from tests.fakes.storage import StorageWithOutage
from tests.webhook_examples import META_PHONE_ID, META_WABA_ID, fixture_body


@pytest.fixture
async def storage() -> StorageWithOutage:
    return StorageWithOutage()


@pytest.mark.usefixtures("bound")
async def test_a_refresh_the_store_cannot_take_waits_for_it_quietly_and_lands(
    apply_webhook: ApplyWebhook,
    storage: StorageWithOutage,
    provider: FakeProvider,
    sleep: ClockSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider.update_phone(META_WABA_ID, META_PHONE_ID, quality_rating="RED")
    storage.fail_next(3, writes_only=True)  # a full disk for three writes

    with caplog.at_level(logging.INFO, logger="intwa.webhooks"):
        receipt = await apply_webhook(fixture_body("phone_number_quality_update"))
        await apply_webhook.drain()

    assert receipt == WebhookReceipt(applied=1)
    assert storage.failed == 3
    assert sleep.slept == [5.0, 5.0, 5.0]  # the store's retry time between the attempts
    history = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert [(change.field, change.new, change.source) for change in history] == [("qualityRating", "RED", "webhook")]
    # The store logs its outage once; the refresh adds one line, when it lands.
    assert caplog.messages == [f"refreshed WABA {META_WABA_ID} after a webhook (1 changes)"]
