"""`GET /metrics`: Prometheus' text format, with counters that move as requests, Meta calls and events happen."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from intwa.entrypoints.composition import resolve
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import APP_SECRET, notification, sign, write_fake_data_with_meta_waba

PHONE_INFO_ROUTE = "/intwa-api/whatsapp/account/phoneInfo"
TTL = 300

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"WEBHOOK__APP_SECRET": APP_SECRET}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def scrape(api: Api) -> Samples:
    """Every sample of a scrape by name and labels; the text must parse as Prometheus' format."""
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_answer_without_a_key_in_prometheus_text_format(api: Api) -> None:
    await api.client.get("/healthz")

    samples = await scrape(api)

    names = {name for name, _ in samples}
    assert {
        "intwa_http_requests_total",
        "intwa_provider_calls_total",
        "intwa_snapshot_cache_total",
        "intwa_webhook_events_total",
        "intwa_background_sync_runs_total",
        "process_cpu_seconds_total",
    } <= names


async def test_requests_are_counted_by_route_method_status_and_code(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    for _ in range(3):
        await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})
    await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": "1"})
    await api.client.get("/nowhere/12345")

    samples = await scrape(api)

    requests = "intwa_http_requests_total"
    ok = {"route": PHONE_INFO_ROUTE, "method": "POST", "status": "200", "code": "0"}
    assert value(samples, requests, **ok) == 3
    assert value(samples, requests, **{**ok, "status": "404", "code": "40400"}) == 1
    assert value(samples, requests, route="unmatched", method="GET", status="404", code="40400") == 1
    duration = "intwa_http_request_duration_seconds"
    assert value(samples, f"{duration}_count", route=PHONE_INFO_ROUTE) == 4
    assert value(samples, f"{duration}_bucket", route=PHONE_INFO_ROUTE, le="+Inf") == 4
    assert 0 < value(samples, f"{duration}_sum", route=PHONE_INFO_ROUTE) < 4 * 10
    assert not any("12345" in str(labels) for _, labels in samples)  # no raw path becomes a label


async def test_provider_calls_are_counted_by_outcome(api: Api, fake_provider: FakeProvider) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    fake_provider.fail_with(None, WabaNotAccessible("gone"))
    await api.bind("278990000057662", "267300000093636")
    fake_provider.fail_with(None, ProviderUnavailable("down"))
    await api.bind("278990000057662", "267300000093636")

    samples = await scrape(api)

    calls = "intwa_provider_calls_total"
    assert value(samples, calls, call="fetch_waba", outcome="ok") == 1
    assert value(samples, calls, call="fetch_phone_numbers", outcome="ok") == 1
    assert value(samples, calls, call="subscribe_app", outcome="ok") == 1
    assert value(samples, calls, call="fetch_waba", outcome="not_accessible") == 1
    assert value(samples, calls, call="fetch_waba", outcome="unavailable") == 1
    assert value(samples, calls, call="fetch_waba", outcome="rate_limited") == 0


async def test_snapshot_reads_are_counted_as_hits_misses_and_stale(
    api: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    phone_info = {"accountName": ACCOUNT, "wabaId": WABA_ID}
    await api.bind(WABA_ID, PHONE_ID)
    await api.post("phoneInfo", phone_info)  # hit: the bind stored a snapshot
    clock.advance(TTL + 1)
    await api.post("phoneInfo", phone_info)  # miss: refreshed from the provider
    clock.advance(TTL + 1)
    fake_provider.fail_with(None, ProviderUnavailable("down"))
    assert (await api.post("phoneInfo", phone_info)).json()["code"] == 0  # stale: served while Meta is down

    samples = await scrape(api)

    reads = "intwa_snapshot_cache_total"
    assert value(samples, reads, result="hit") == 1
    assert value(samples, reads, result="miss") == 1
    assert value(samples, reads, result="stale") == 1


async def test_webhook_events_are_counted_by_field(api: Api) -> None:
    body = notification("account_review_update", {"decision": "APPROVED"})
    unknown = notification("message_template_status_update", {"event": "APPROVED"})
    for payload in (body, body, unknown):
        response = await api.client.post(
            "/intwa-api/whatsapp/webhook", content=payload, headers={"X-Hub-Signature-256": sign(payload)}
        )
        assert response.status_code == 200

    samples = await scrape(api)

    events = "intwa_webhook_events_total"
    assert value(samples, events, field="account_review_update") == 2
    assert value(samples, events, field="other") == 1
    assert value(samples, events, field="message_template_status_update") == 0


async def test_webhook_events_list_every_handled_field_then_other(api: Api) -> None:
    response = await api.client.get("/metrics")

    lines = [line for line in response.text.splitlines() if line.startswith("intwa_webhook_events_total")]
    assert lines == [
        'intwa_webhook_events_total{field="account_review_update"} 0.0',
        'intwa_webhook_events_total{field="phone_number_quality_update"} 0.0',
        'intwa_webhook_events_total{field="phone_number_name_update"} 0.0',
        'intwa_webhook_events_total{field="account_update"} 0.0',
        'intwa_webhook_events_total{field="business_capability_update"} 0.0',
        'intwa_webhook_events_total{field="other"} 0.0',
    ]


async def test_background_sync_runs_refreshes_and_failures_are_counted(
    api: Api, container: Container, fake_provider: FakeProvider
) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    background_sync = await resolve(container.background_sync)
    await background_sync.run_round()
    fake_provider.fail_with(None, ProviderUnavailable("down"))
    await background_sync.run_round()

    samples = await scrape(api)

    assert value(samples, "intwa_background_sync_runs_total") == 2
    assert value(samples, "intwa_background_sync_refreshes_total") == 1
    assert value(samples, "intwa_background_sync_failures_total") == 1
