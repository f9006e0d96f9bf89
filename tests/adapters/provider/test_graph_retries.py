"""The Graph adapter retries what may pass, within Meta's hints and a bound, and keeps Meta's usage reports."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from intwa.adapters.provider.graph import GraphProvider
from intwa.adapters.provider.graph_usage import WabaUsage
from intwa.domain.errors import DomainError, ProviderRateLimited, ProviderUnavailable
from tests.adapters.provider.graph_doubles import (
    NOW,
    PHONES_PATH,
    WABA_ID,
    WABA_PATH,
    MakeProvider,
    RecordedSleeps,
    ScriptedGraph,
    graph_error,
    graph_fixture,
    respond,
    usage_header,
)

# --- retries -----------------------------------------------------------------------------------------------


async def test_unavailable_calls_are_retried_with_exponentially_growing_waits(
    graph: ScriptedGraph, make_provider: MakeProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, respond(500, graph_fixture("error_transient.json")))

    with pytest.raises(ProviderUnavailable) as raised:
        await make_provider(max_retries=3).fetch_waba(WABA_ID)

    assert len(graph.requests) == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert raised.value.retry_after_seconds == 4


async def test_jitter_lengthens_each_wait(
    graph: ScriptedGraph, make_provider: MakeProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, httpx.ConnectError("connection refused"))

    with pytest.raises(ProviderUnavailable):
        await make_provider(max_retries=3, jitter=0.5).fetch_waba(WABA_ID)

    assert sleeps.waits == [0.75, 1.5, 3.0]


async def test_a_call_that_passes_on_a_retry_returns_metas_answer(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(
        WABA_PATH,
        respond(400, graph_fixture("error_rate_limited_waba.json")),
        httpx.ReadTimeout("read timed out"),
        respond(200, graph_fixture("waba.json")),
    )

    assert (await provider.fetch_waba(WABA_ID)).name == "Jasper's Market"
    assert len(sleeps.waits) == 2


async def test_every_page_is_retried_on_its_own(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(
        PHONES_PATH,
        respond(200, graph_fixture("phone_numbers_page1.json")),
        respond(503, b"Service Unavailable"),
        respond(200, graph_fixture("phone_numbers_page2.json")),
    )

    assert len(await provider.fetch_phone_numbers(WABA_ID)) == 2
    assert sleeps.waits == [0.5]


async def test_retry_after_is_honoured(
    graph: ScriptedGraph, make_provider: MakeProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, respond(429, graph_fixture("error_app_rate_limited.json"), **{"Retry-After": "7"}))

    with pytest.raises(ProviderRateLimited) as raised:
        await make_provider(max_retries=2).fetch_waba(WABA_ID)

    assert sleeps.waits == [7.0, 7.0]
    assert raised.value.retry_after_seconds == 7


async def test_the_usage_headers_time_to_regain_access_is_honoured_within_the_bound(
    graph: ScriptedGraph, make_provider: MakeProvider, sleeps: RecordedSleeps
) -> None:
    header = usage_header(call_count=100, total_cputime=10, total_time=10, estimated_time_to_regain_access=2)
    graph.answer(
        WABA_PATH,
        respond(400, graph_fixture("error_rate_limited_waba.json"), **{"X-Business-Use-Case-Usage": header}),
        respond(200, graph_fixture("waba.json")),
    )

    await make_provider(max_wait_seconds=300).fetch_waba(WABA_ID)

    assert sleeps.waits == [120.0]


async def test_a_wait_longer_than_the_bound_is_not_waited_for(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps
) -> None:
    header = usage_header(call_count=100, estimated_time_to_regain_access=2)
    graph.answer(
        WABA_PATH,
        respond(400, graph_fixture("error_rate_limited_waba.json"), **{"X-Business-Use-Case-Usage": header}),
    )

    with pytest.raises(ProviderRateLimited) as raised:
        await provider.fetch_waba(WABA_ID)

    assert sleeps.waits == []
    assert len(graph.requests) == 1
    assert raised.value.retry_after_seconds == 120


async def test_a_retry_after_longer_than_the_bound_is_passed_on(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, respond(429, graph_error(4), **{"Retry-After": "3600"}))

    with pytest.raises(ProviderRateLimited) as raised:
        await provider.fetch_waba(WABA_ID)

    assert sleeps.waits == []
    assert raised.value.retry_after_seconds == 3600


async def test_no_single_wait_exceeds_the_bound(
    graph: ScriptedGraph, make_provider: MakeProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, respond(500, graph_error(1)))

    with pytest.raises(ProviderUnavailable):
        await make_provider(max_retries=8, jitter=0.99).fetch_waba(WABA_ID)

    assert len(sleeps.waits) == 8
    assert max(sleeps.waits) == 30.0
    assert sleeps.waits == sorted(sleeps.waits)


async def test_a_rate_limit_without_metas_wait_gives_up_asking_for_a_minute(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps
) -> None:
    graph.answer(WABA_PATH, respond(400, graph_fixture("error_rate_limited_waba.json")))

    with pytest.raises(ProviderRateLimited) as raised:
        await provider.fetch_waba(WABA_ID)

    assert len(graph.requests) == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]
    assert raised.value.retry_after_seconds == 60


@pytest.mark.parametrize(
    "body",
    [
        graph_fixture("error_token_expired.json"),
        graph_fixture("error_not_found.json"),
        graph_fixture("error_permission.json"),
        graph_fixture("error_nonexisting_field.json"),
    ],
)
async def test_errors_that_a_retry_cannot_fix_are_not_retried(
    graph: ScriptedGraph, provider: GraphProvider, sleeps: RecordedSleeps, body: bytes
) -> None:
    graph.answer(WABA_PATH, respond(400, body))

    with pytest.raises(DomainError):
        await provider.fetch_waba(WABA_ID)

    assert len(graph.requests) == 1
    assert sleeps.waits == []


# --- usage -------------------------------------------------------------------------------------------------


async def test_metas_usage_report_is_kept_per_waba(graph: ScriptedGraph, provider: GraphProvider) -> None:
    header = json.dumps(
        {
            WABA_ID: [
                {"type": "whatsapp", "call_count": 95, "total_cputime": 12, "total_time": 20},
                {"type": "whatsapp", "call_count": 40, "total_cputime": 30, "estimated_time_to_regain_access": 2},
            ]
        }
    )
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba.json"), **{"X-Business-Use-Case-Usage": header}))

    await provider.fetch_waba(WABA_ID)

    assert provider.usage(WABA_ID) == WabaUsage(
        call_count=95, total_cputime=30, total_time=20, regain_access_at=NOW + timedelta(minutes=2)
    )
    assert provider.usage("999") is None


async def test_the_latest_usage_report_replaces_the_previous_one(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(
        WABA_PATH,
        respond(200, graph_fixture("waba.json"), **{"X-Business-Use-Case-Usage": usage_header(call_count=90)}),
        respond(200, graph_fixture("waba.json"), **{"X-Business-Use-Case-Usage": usage_header(call_count=10)}),
    )

    await provider.fetch_waba(WABA_ID)
    await provider.fetch_waba(WABA_ID)

    assert provider.usage(WABA_ID) == WabaUsage(call_count=10, total_cputime=0, total_time=0, regain_access_at=None)


@pytest.mark.parametrize("header", ["not json", "[1, 2]", '{"1": "x"}', '{"1": [{"call_count": "high"}]}'])
async def test_a_malformed_usage_header_is_ignored(graph: ScriptedGraph, provider: GraphProvider, header: str) -> None:
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba.json"), **{"X-Business-Use-Case-Usage": header}))

    assert (await provider.fetch_waba(WABA_ID)).id == WABA_ID
    assert provider.usage(WABA_ID) is None
