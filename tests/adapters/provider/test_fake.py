"""The fake provider's test conveniences: counted calls, subscriptions, failures on demand, changes, latency."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.provider.graph_usage import WabaUsage
from intwa.domain.errors import ProviderCredentialsRejected, ProviderRateLimited, WabaNotAccessible

TIG_TECH = "278990000057661"
TIG_CODE = "278990000057662"


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider.from_file("")


async def test_the_built_in_demo_data_is_served_when_no_file_is_given(fake: FakeProvider) -> None:
    waba = await fake.fetch_waba(TIG_TECH)
    phones = await fake.fetch_phone_numbers(TIG_CODE)

    assert (waba.name, waba.review_status) == ("PT TIG TECH", "APPROVED")
    assert [(phone.display_phone_number, phone.messaging_limit) for phone in phones] == [
        ("+86 133-1234-5155", "UNKNOWN")
    ]


async def test_every_call_is_counted_and_subscriptions_are_remembered(fake: FakeProvider) -> None:
    await fake.fetch_waba(TIG_TECH)
    await fake.fetch_phone_numbers(TIG_TECH)
    await fake.subscribe_app(TIG_TECH)
    with pytest.raises(WabaNotAccessible):
        await fake.subscribe_app("999")

    assert fake.calls == {"fetch_waba": 1, "fetch_phone_numbers": 1, "subscribe_app": 2}
    assert fake.subscribed == {TIG_TECH}


async def test_a_failure_for_one_waba_leaves_the_others_alone_until_cleared(fake: FakeProvider) -> None:
    fake.fail_with(TIG_TECH, ProviderRateLimited("Meta is rate-limiting", retry_after_seconds=30))

    for _ in range(2):
        with pytest.raises(ProviderRateLimited):
            await fake.fetch_phone_numbers(TIG_TECH)
    assert (await fake.fetch_waba(TIG_CODE)).id == TIG_CODE

    fake.fail_with(TIG_TECH, None)
    assert (await fake.fetch_waba(TIG_TECH)).id == TIG_TECH


async def test_a_failure_for_every_waba_yields_to_a_wabas_own_and_clears_with_all(fake: FakeProvider) -> None:
    fake.fail_with(None, ProviderCredentialsRejected("token expired", trace_id="AbC"))
    fake.fail_with(TIG_CODE, WabaNotAccessible("WABA is no longer shared"))

    with pytest.raises(ProviderCredentialsRejected):
        await fake.subscribe_app(TIG_TECH)
    with pytest.raises(WabaNotAccessible):
        await fake.subscribe_app(TIG_CODE)

    fake.fail_with(None, None)
    await fake.subscribe_app(TIG_CODE)
    assert fake.subscribed == {TIG_CODE}


async def test_a_change_at_the_fake_meta_shows_in_the_next_answer(fake: FakeProvider) -> None:
    fake.update_phone(TIG_TECH, "267300000093634", quality_rating="RED", status="FLAGGED")
    fake.update_waba(TIG_TECH, account_review_status="REJECTED")

    phone = (await fake.fetch_phone_numbers(TIG_TECH))[0]
    waba = await fake.fetch_waba(TIG_TECH)

    assert (phone.quality_rating, phone.status, waba.review_status) == ("RED", "FLAGGED", "REJECTED")


async def test_latency_holds_every_answer_back(fake: FakeProvider) -> None:
    fake.latency_seconds = 0.05
    started = time.perf_counter()

    await asyncio.gather(*(fake.fetch_waba(TIG_TECH) for _ in range(5)))

    assert 0.05 <= time.perf_counter() - started < 0.5


def test_usage_is_what_the_test_pretends_meta_reported(fake: FakeProvider) -> None:
    usage = WabaUsage(call_count=95, total_cputime=10, total_time=10, regain_access_at=datetime(2026, 3, 1, tzinfo=UTC))

    fake.set_usage(TIG_TECH, usage)

    assert fake.usage(TIG_TECH) == usage
    assert fake.usage(TIG_CODE) is None


def test_the_repr_names_the_data_source(fake: FakeProvider) -> None:
    assert repr(fake) == "FakeProvider(source='built-in demo data demo_data.json', wabas=3)"
