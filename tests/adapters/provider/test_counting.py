"""The counting decorator: every provider call counted once by outcome, answers and errors passed on unchanged."""

from __future__ import annotations

import pytest

from intwa.adapters.provider.counting import CountingProvider
from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.errors import (
    DomainError,
    ProviderCredentialsRejected,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    WabaNotAccessible,
)
from intwa.domain.models import WabaUsage
from tests.conftest import WABA_ID


@pytest.fixture
def fake(fake_data_path: object) -> FakeProvider:
    return FakeProvider.from_file(str(fake_data_path))


async def test_answers_pass_through_and_each_call_counts_once_as_ok(fake: FakeProvider) -> None:
    counting = CountingProvider(fake)

    waba = await counting.fetch_waba(WABA_ID)
    phones = await counting.fetch_phone_numbers(WABA_ID)
    await counting.subscribe_app(WABA_ID)

    assert waba == await fake.fetch_waba(WABA_ID)
    assert phones == await fake.fetch_phone_numbers(WABA_ID)
    assert counting.calls == {("fetch_waba", "ok"): 1, ("fetch_phone_numbers", "ok"): 1, ("subscribe_app", "ok"): 1}


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (WabaNotAccessible("gone"), "not_accessible"),
        (ProviderCredentialsRejected("token expired"), "credentials_rejected"),
        (ProviderRateLimited("slow down"), "rate_limited"),
        (ProviderUnavailable("down"), "unavailable"),
        (ProviderError("odd answer"), "error"),
    ],
)
async def test_a_failed_call_counts_by_the_kind_of_error_and_raises_it(
    fake: FakeProvider, error: DomainError, outcome: str
) -> None:
    counting = CountingProvider(fake)
    fake.fail_with(WABA_ID, error)

    with pytest.raises(type(error)) as raised:
        await counting.fetch_waba(WABA_ID)

    assert raised.value.message == error.message
    assert counting.calls == {("fetch_waba", outcome): 1}


async def test_usage_asks_meta_nothing_and_is_not_counted(fake: FakeProvider) -> None:
    counting = CountingProvider(fake)
    usage = WabaUsage(call_count=95.0, total_cputime=10.0, total_time=10.0)
    fake.set_usage(WABA_ID, usage)

    assert counting.usage(WABA_ID) == usage
    assert counting.calls == {}
