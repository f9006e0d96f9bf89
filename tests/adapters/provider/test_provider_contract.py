"""One suite of provider behaviour, run against the fake provider and the Graph adapter on the same data.

The Graph adapter talks to the fake Graph app over ASGI, so the fake Graph is held to the same contract.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.provider.fake_data import FakeGraphData, load_fake_data, parse_fake_data
from intwa.adapters.provider.fake_graph import create_fake_graph_app
from intwa.adapters.provider.graph import GraphProvider, open_graph_client
from intwa.domain.errors import WabaNotAccessible
from intwa.domain.models import PhoneNumber, Waba
from intwa.domain.ports import MetaProvider
from intwa.settings import GraphSettings, Secret
from tests.adapters.provider.graph_doubles import RecordedSleeps, asgi_transport

TOKEN = "contract-token"
WABA_ID = "278990000057661"
BARE_WABA_ID = "278990000057662"
EMPTY_WABA_ID = "278990000057663"
UNKNOWN_WABA_ID = "999990000000001"

DATA: dict[str, Any] = {
    "wabas": [
        {
            "id": WABA_ID,
            "name": "PT TIG TECH",
            "account_review_status": "APPROVED",
            "phone_numbers": [
                {
                    "id": "267300000093634",
                    "display_phone_number": "+62 852-1234-0016",
                    "verified_name": "TIG Tech",
                    "status": "CONNECTED",
                    "quality_rating": "GREEN",
                    "whatsapp_business_manager_messaging_limit": "TIER_250",
                },
                {
                    "id": "267300000093635",
                    "display_phone_number": "+62 852-1234-0017",
                    "verified_name": "TIG Tech Support",
                    "status": "FLAGGED",
                    "quality_rating": "NA",
                    "messaging_limit_tier": "TIER_1K",
                },
                {"id": "267300000093636", "display_phone_number": "+62 852-1234-0018"},
                {
                    "id": "267300000093637",
                    "display_phone_number": "+62 852-1234-0019",
                    "status": "SOMETHING_META_ADDED",
                    "whatsapp_business_manager_messaging_limit": "TIER_UNLIMITED",
                    "messaging_limit_tier": "TIER_1K",
                },
            ],
        },
        {"id": BARE_WABA_ID, "phone_numbers": [{"id": "267300000093701", "display_phone_number": "+86 133-1234-5155"}]},
        {"id": EMPTY_WABA_ID, "name": "Jasper's Market", "account_review_status": "PENDING"},
    ]
}

# The deprecated `messaging_limit_tier` is never requested, so Graph (and hence each provider) never sends it.
EXPECTED_PHONES = [
    PhoneNumber("267300000093634", "+62 852-1234-0016", "TIG Tech", "CONNECTED", "GREEN", "TIER_250"),
    PhoneNumber("267300000093635", "+62 852-1234-0017", "TIG Tech Support", "FLAGGED", "NA", "UNKNOWN"),
    PhoneNumber("267300000093636", "+62 852-1234-0018", "", "UNKNOWN", "UNKNOWN", "UNKNOWN"),
    PhoneNumber("267300000093637", "+62 852-1234-0019", "", "SOMETHING_META_ADDED", "UNKNOWN", "TIER_UNLIMITED"),
]


@contextlib.asynccontextmanager
async def graph_provider_over_fake_graph(data: FakeGraphData) -> AsyncIterator[tuple[GraphProvider, httpx.AsyncClient]]:
    """The real Graph adapter and client configuration, with the fake Graph app behind an ASGI transport."""
    app = create_fake_graph_app(data, access_token=TOKEN, page_size=1)
    settings = GraphSettings(base_url="http://fake-graph.test", access_token=Secret(TOKEN))
    transport = asgi_transport(app)
    async with contextlib.asynccontextmanager(open_graph_client)(settings, transport=transport) as client:
        yield GraphProvider(client, settings, sleep=RecordedSleeps()), client


@pytest.fixture
def data() -> FakeGraphData:
    return parse_fake_data(DATA)


@pytest.fixture(params=["fake", "graph"])
async def provider(request: pytest.FixtureRequest, data: FakeGraphData) -> AsyncIterator[MetaProvider]:
    if request.param == "fake":
        yield FakeProvider(data)
    else:
        async with graph_provider_over_fake_graph(data) as (graph, _):
            yield graph


async def test_a_waba_is_read_with_its_name_and_review_status(provider: MetaProvider) -> None:
    assert await provider.fetch_waba(WABA_ID) == Waba(WABA_ID, "PT TIG TECH", "APPROVED")


async def test_a_waba_without_name_or_review_status_reads_empty_and_unknown(provider: MetaProvider) -> None:
    assert await provider.fetch_waba(BARE_WABA_ID) == Waba(BARE_WABA_ID, "", "UNKNOWN")


async def test_phone_numbers_come_in_the_providers_order_with_every_field(provider: MetaProvider) -> None:
    assert await provider.fetch_phone_numbers(WABA_ID) == EXPECTED_PHONES


async def test_a_waba_without_phone_numbers_has_none(provider: MetaProvider) -> None:
    assert await provider.fetch_phone_numbers(EMPTY_WABA_ID) == []


@pytest.mark.parametrize("call", ["fetch_waba", "fetch_phone_numbers", "subscribe_app"])
async def test_an_unknown_waba_is_not_accessible(provider: MetaProvider, call: str) -> None:
    method: Callable[[str], Awaitable[object]] = getattr(provider, call)

    with pytest.raises(WabaNotAccessible) as raised:
        await method(UNKNOWN_WABA_ID)

    assert raised.value.code == 42200
    assert UNKNOWN_WABA_ID in raised.value.message


async def test_subscribing_the_app_to_a_known_waba_succeeds(provider: MetaProvider) -> None:
    await provider.subscribe_app(WABA_ID)  # Meta confirmed: nothing raised


async def test_a_change_at_meta_shows_in_the_next_answer(provider: MetaProvider, data: FakeGraphData) -> None:
    await provider.fetch_phone_numbers(WABA_ID)
    data.update_phone(
        WABA_ID, "267300000093634", quality_rating="RED", whatsapp_business_manager_messaging_limit="TIER_2K"
    )
    data.update_waba(WABA_ID, account_review_status="REJECTED")

    phone = (await provider.fetch_phone_numbers(WABA_ID))[0]
    waba = await provider.fetch_waba(WABA_ID)

    assert (phone.quality_rating, phone.messaging_limit) == ("RED", "TIER_2K")
    assert waba.review_status == "REJECTED"


async def test_both_providers_answer_the_demo_data_alike() -> None:
    fake = FakeProvider.from_file("")
    async with graph_provider_over_fake_graph(load_fake_data("")) as (graph, _):
        for waba in fake.data.wabas:
            assert await graph.fetch_waba(waba.id) == await fake.fetch_waba(waba.id)
            assert await graph.fetch_phone_numbers(waba.id) == await fake.fetch_phone_numbers(waba.id)


async def test_the_fake_provider_and_the_fake_graph_count_calls_alike(data: FakeGraphData) -> None:
    fake = FakeProvider(data)
    async with graph_provider_over_fake_graph(data) as (graph, client):
        for provider in (fake, graph):
            await provider.fetch_waba(WABA_ID)
            await provider.fetch_phone_numbers(WABA_ID)  # four pages at Graph, one call
            await provider.subscribe_app(WABA_ID)
            with pytest.raises(WabaNotAccessible):
                await provider.fetch_waba(UNKNOWN_WABA_ID)

        counted = (await client.get("http://fake-graph.test/_fake/calls")).json()

    assert counted == dict(fake.calls) == {"fetch_waba": 2, "fetch_phone_numbers": 1, "subscribe_app": 1}
