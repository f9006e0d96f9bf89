"""Answers from snapshots: within the TTL, refreshed after it, stale while Meta cannot answer (SPEC §3.7)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import (
    ProviderCredentialsRejected,
    ProviderRateLimited,
    ProviderUnavailable,
    WabaNotAccessible,
)
from intwa.domain.models import WabaUsage
from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID, waba_info_item
from tests.fakes.clock import FakeClock
from tests.http.conftest import ACCOUNT, Api

TTL = 300  # the default cache.ttl_seconds
MAX_STALE = 86400
PHONE_INFO = {"accountName": ACCOUNT, "wabaId": WABA_ID}
REFRESH_WAIT = 0.3


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"CACHE__REFRESH_WAIT_SECONDS": str(REFRESH_WAIT)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def bound(api: Api, fake_provider: FakeProvider) -> Api:
    assert (await api.bind(WABA_ID, PHONE_ID)).json()["code"] == 0
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    return api


def _provider_calls(fake_provider: FakeProvider) -> int:
    return fake_provider.calls["fetch_waba"] + fake_provider.calls["fetch_phone_numbers"]


async def _quality(api: Api) -> str:
    body = (await api.post("phoneInfo", PHONE_INFO)).json()
    assert body["code"] == 0, body
    quality: str = body["data"][0]["qualityRating"]
    return quality


async def test_a_snapshot_within_the_ttl_answers_without_the_provider(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    calls = _provider_calls(fake_provider)
    clock.advance(TTL - 1)

    assert await _quality(bound) == "GREEN"
    assert _provider_calls(fake_provider) == calls


async def test_an_expired_snapshot_is_refreshed_and_the_change_recorded(
    bound: Api, storage: Storage, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    clock.advance(TTL + 1)

    assert await _quality(bound) == "RED"
    history = await storage.list_history(WABA_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [("qualityRating", "GREEN", "RED", "request")]


async def test_fifty_concurrent_requests_for_an_expired_waba_make_one_provider_call(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    fake_provider.latency_seconds = 0.02
    clock.advance(TTL + 1)
    before = fake_provider.calls.copy()

    answers = await asyncio.gather(*(bound.post("phoneInfo", PHONE_INFO) for _ in range(50)))

    assert {answer.json()["data"][0]["qualityRating"] for answer in answers} == {"RED"}
    assert fake_provider.calls["fetch_waba"] - before["fetch_waba"] == 1
    assert fake_provider.calls["fetch_phone_numbers"] - before["fetch_phone_numbers"] == 1


@pytest.mark.parametrize(
    "error",
    [
        ProviderUnavailable("Meta is not answering"),
        ProviderRateLimited("Meta rate limit reached", retry_after_seconds=120),
        ProviderCredentialsRejected("Meta rejected the access token", trace_id="AbC"),
    ],
)
async def test_a_failed_refresh_serves_the_stale_snapshot_with_a_warning(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    fake_provider.fail_with(WABA_ID, error)  # type: ignore[arg-type]
    clock.advance(MAX_STALE - 1)

    with caplog.at_level(logging.WARNING, logger="intwa.snapshots"):
        quality = await _quality(bound)

    assert quality == "GREEN"
    assert any(WABA_ID in record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)


async def test_after_a_failed_refresh_meta_is_left_alone_for_a_while(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    fake_provider.fail_with(WABA_ID, ProviderUnavailable("Meta is not answering", retry_after_seconds=60))
    clock.advance(TTL + 1)
    await _quality(bound)
    calls = _provider_calls(fake_provider)

    for _ in range(5):
        assert await _quality(bound) == "GREEN"
    fake_provider.fail_with(WABA_ID, None)
    clock.advance(61)

    assert _provider_calls(fake_provider) == calls
    assert await _quality(bound) == "RED"


async def test_a_throttled_waba_is_answered_stale_until_meta_lets_it_call_again(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    clock.advance(TTL + 1)
    regain = clock.now().replace(microsecond=0)
    fake_provider.set_usage(WABA_ID, WabaUsage(call_count=95, total_cputime=10, total_time=10, regain_access_at=regain))
    clock.advance(-30)

    stale = await _quality(bound)
    clock.advance(31)
    fresh = await _quality(bound)

    assert (stale, fresh) == ("GREEN", "RED")


async def test_a_snapshot_older_than_max_stale_is_not_served(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    fake_provider.fail_with(WABA_ID, ProviderUnavailable("Meta is not answering", retry_after_seconds=30))
    clock.advance(MAX_STALE + 1)

    response = await bound.post("phoneInfo", PHONE_INFO)

    assert response.status_code == 503
    assert response.json()["code"] == 50300
    assert response.headers["retry-after"] == "30"


async def test_a_waba_meta_no_longer_shares_is_42200_in_phone_info_and_listed_as_not_accessible(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    fake_provider.fail_with(WABA_ID, WabaNotAccessible(f"WABA `{WABA_ID}` is not shared with the platform"))
    clock.advance(TTL + 1)

    phone_info = await bound.post("phoneInfo", PHONE_INFO)
    waba_info = await bound.post("wabaInfo", {"accountName": ACCOUNT})

    assert (phone_info.status_code, phone_info.json()["code"]) == (422, 42200)
    assert (waba_info.status_code, waba_info.json()["code"]) == (200, 0)
    assert waba_info.json()["data"] == [waba_info_item(WABA_ID, "PT TIG TECH", "APPROVED", accessible=False)]


@pytest.mark.parametrize("endpoint", ["phoneInfo", "wabaInfo"])
async def test_the_first_read_while_meta_hangs_is_answered_stale_within_the_refresh_wait(
    bound: Api, fake_provider: FakeProvider, clock: FakeClock, endpoint: str
) -> None:
    fake_provider.latency_seconds = 60  # Meta hangs: timeouts and retries would take this long
    clock.advance(TTL + 1)
    started = asyncio.get_running_loop().time()

    response = await bound.post(endpoint, PHONE_INFO if endpoint == "phoneInfo" else {"accountName": ACCOUNT})
    took = asyncio.get_running_loop().time() - started

    assert (response.status_code, response.json()["code"]) == (200, 0)
    assert REFRESH_WAIT <= took < REFRESH_WAIT + 0.2
    if endpoint == "phoneInfo":
        assert response.json()["data"][0]["qualityRating"] == "GREEN"  # the snapshot, not Meta's new answer
