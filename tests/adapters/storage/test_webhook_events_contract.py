"""What every `Storage` backend promises about the webhook events it keeps (SPEC §3.9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from intwa.domain.models import WebhookEvent
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, at

WABA = "278990000057661"
OTHER_WABA = "278990000057662"
BUSINESS = "506914307656634"


def event_of(fingerprint: str, received_at: datetime = T0, waba_id: str | None = WABA) -> WebhookEvent:
    return WebhookEvent(
        received_at=received_at,
        object_id=waba_id or BUSINESS,
        waba_id=waba_id,
        field="account_review_update" if waba_id else "business_capability_update",
        event="REJECTED" if waba_id else None,
        payload='{"decision": "REJECTED", "note": "Ünïcødé 🚀"}',
        fingerprint=fingerprint,
    )


async def test_a_webhook_event_is_recorded_once_by_its_fingerprint(storage: Storage) -> None:
    first = event_of("sha256:aaa")
    replay = WebhookEvent(at(60), WABA, WABA, "account_review_update", "APPROVED", "{}", "sha256:aaa")

    assert await storage.record_webhook_event(first) is True
    assert await storage.record_webhook_event(replay) is False
    assert await storage.record_webhook_event(first) is False

    assert await storage.list_webhook_events() == [first]


async def test_webhook_events_read_back_whole_with_their_time_in_utc(storage: Storage) -> None:
    jakarta = timezone(timedelta(hours=7))
    event = event_of("sha256:aaa", received_at=datetime(2026, 11, 27, 16, 0, 0, 1, tzinfo=jakarta))

    await storage.record_webhook_event(event)

    [stored] = await storage.list_webhook_events()
    assert stored == event
    assert stored.received_at == datetime(2026, 11, 27, 9, 0, 0, 1, tzinfo=UTC)
    assert stored.received_at.utcoffset() == timedelta(0)


async def test_webhook_events_are_listed_oldest_first_and_by_waba(storage: Storage) -> None:
    late = event_of("sha256:late", at(120))
    business = event_of("sha256:business", at(60), waba_id=None)
    other = event_of("sha256:other", at(30), waba_id=OTHER_WABA)
    tie_first = event_of("sha256:zzz", at(60))
    tie_second = event_of("sha256:aaa", at(60))
    for event in (late, business, other, tie_first, tie_second):
        await storage.record_webhook_event(event)

    assert await storage.list_webhook_events() == [other, business, tie_first, tie_second, late]
    assert await storage.list_webhook_events(WABA) == [tie_first, tie_second, late]
    assert await storage.list_webhook_events(OTHER_WABA) == [other]
    assert await storage.list_webhook_events("nobody") == []


async def test_pruning_deletes_the_events_received_before_a_moment_and_says_how_many(storage: Storage) -> None:
    oldest = event_of("sha256:oldest", T0)
    older = event_of("sha256:older", at(30), waba_id=None)
    on_the_moment = event_of("sha256:moment", at(60))
    newer = event_of("sha256:newer", at(120), waba_id=OTHER_WABA)
    for event in (newer, on_the_moment, older, oldest):
        await storage.record_webhook_event(event)

    assert await storage.prune_webhook_events(at(60)) == 2

    assert await storage.list_webhook_events() == [on_the_moment, newer]
    assert await storage.list_webhook_events(WABA) == [on_the_moment]
    assert await storage.prune_webhook_events(at(60)) == 0


async def test_pruning_compares_instants_whatever_the_time_zone(storage: Storage) -> None:
    jakarta = timezone(timedelta(hours=7))
    kept = event_of("sha256:kept", datetime(2026, 11, 27, 9, 0, 0, 1, tzinfo=UTC))
    pruned = event_of("sha256:pruned", datetime(2026, 11, 27, 8, 59, 59, 999999, tzinfo=UTC))
    await storage.record_webhook_event(kept)
    await storage.record_webhook_event(pruned)

    assert await storage.prune_webhook_events(datetime(2026, 11, 27, 16, 0, tzinfo=jakarta)) == 1

    assert await storage.list_webhook_events() == [kept]


async def test_pruning_an_empty_store_deletes_nothing(storage: Storage) -> None:
    assert await storage.prune_webhook_events(at(60)) == 0
