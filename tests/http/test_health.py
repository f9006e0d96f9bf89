"""Can it send? Meta's verdict with reasons and fixes, and the number's state, in phoneInfo and wabaInfo (SPEC §3.4).

The refresh behind them is two Graph listings, counted here as HTTP requests to a fake Graph.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from intwa.adapters.provider.fake_data import parse_fake_data
from intwa.adapters.provider.fake_graph import create_fake_graph_app
from intwa.adapters.provider.graph import GraphProvider, open_graph_client
from intwa.container import Container
from intwa.entrypoints.http.app import create_app
from intwa.settings import GraphSettings, Secret
from tests.adapters.provider.graph_doubles import asgi_transport
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.health_examples import NAME_NOT_APPROVED, PAYMENT_ISSUE, data_with_health, write_data_with_health
from tests.http.conftest import ACCOUNT, Api

SEED_PHONE_FIELDS = ["id", "displayPhoneNumber", "verifiedName", "status", "qualityRating", "messageLimit"]
ADDED_PHONE_FIELDS = [
    "canSendMessage",
    "healthIssues",
    "nameStatus",
    "codeVerificationStatus",
    "platformType",
    "throughputLevel",
]
WABA_FIELDS = ["wabaId", "wabaName", "wabaStatus", "canSendMessage", "healthIssues", "businessVerificationStatus"]
ISSUE_FIELDS = ["entityType", "entityId", "canSendMessage", "errorCode", "description", "possibleSolution"]
TTL = 300
GRAPH_TOKEN = "graph-token"


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_data_with_health(tmp_path)


def keys(response: httpx.Response) -> list[list[str]]:
    """The keys of each item of the answer's `data`, in the order they were sent."""
    return [list(item) for item in json.loads(response.content)["data"]]


async def test_phone_info_adds_metas_verdict_and_the_numbers_state_after_the_seeds_six_fields(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})

    assert keys(response) == [SEED_PHONE_FIELDS + ADDED_PHONE_FIELDS] * 2
    available, limited = response.json()["data"]
    assert available == {
        "id": PHONE_ID,
        "displayPhoneNumber": "+62 852-1234-0016",
        "verifiedName": "TIG Tech",
        "status": "CONNECTED",
        "qualityRating": "GREEN",
        "messageLimit": "TIER_250",
        "canSendMessage": "AVAILABLE",
        "healthIssues": [],
        "nameStatus": "APPROVED",
        "codeVerificationStatus": "VERIFIED",
        "platformType": "CLOUD_API",
        "throughputLevel": "STANDARD",
    }
    assert {name: limited[name] for name in ADDED_PHONE_FIELDS} == {
        "canSendMessage": "LIMITED",
        "healthIssues": [
            {
                "entityType": "PHONE_NUMBER",
                "entityId": SECOND_PHONE_ID,
                "canSendMessage": "LIMITED",
                "errorCode": None,
                "description": NAME_NOT_APPROVED,
                "possibleSolution": None,
            }
        ],
        "nameStatus": "PENDING_REVIEW",
        "codeVerificationStatus": "UNKNOWN",
        "platformType": "UNKNOWN",
        "throughputLevel": "UNKNOWN",
    }
    assert [list(issue) for issue in limited["healthIssues"]] == [ISSUE_FIELDS]


async def test_a_number_of_a_blocked_waba_says_it_cannot_send_with_metas_reason_and_fix(api: Api) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)

    response = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": OTHER_WABA_ID})

    (phone,) = response.json()["data"]
    assert (phone["canSendMessage"], phone["healthIssues"]) == ("BLOCKED", [PAYMENT_ISSUE])
    assert [list(issue) for issue in json.loads(response.content)["data"][0]["healthIssues"]] == [ISSUE_FIELDS]


async def test_waba_info_adds_the_verdict_issues_and_business_verification_before_accessible(
    api: Api, clock: FakeClock
) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    clock.advance(1)
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert keys(response) == [[*WABA_FIELDS, "accessible"]] * 2
    assert response.json()["data"] == [
        {
            "wabaId": OTHER_WABA_ID,
            "wabaName": "PT TIG CODE",
            "wabaStatus": "PENDING",
            "canSendMessage": "BLOCKED",
            "healthIssues": [PAYMENT_ISSUE],
            "businessVerificationStatus": "pending",
            "accessible": True,
        },
        {
            "wabaId": WABA_ID,
            "wabaName": "PT TIG TECH",
            "wabaStatus": "APPROVED",
            "canSendMessage": "AVAILABLE",
            "healthIssues": [],
            "businessVerificationStatus": "verified",
            "accessible": True,
        },
    ]


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [schema for key, schema in document["components"]["schemas"].items() if key.endswith(name)]
    return found  # type: ignore[no-any-return]


async def test_the_openapi_document_describes_every_added_field_with_a_real_example(api: Api) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()

    phone = schema_of(document, "PhoneNumberView")["properties"]
    waba = schema_of(document, "WabaView")["properties"]
    issue = schema_of(document, "HealthIssueView")["properties"]

    assert list(phone) == SEED_PHONE_FIELDS + ADDED_PHONE_FIELDS
    assert list(waba) == [*WABA_FIELDS, "accessible"]
    assert list(issue) == ISSUE_FIELDS
    for properties, names in [(phone, ADDED_PHONE_FIELDS), (waba, WABA_FIELDS[3:]), (issue, ISSUE_FIELDS)]:
        for name in names:
            assert properties[name].get("description"), name
            assert properties[name].get("examples"), name
    assert "AVAILABLE" in phone["canSendMessage"]["description"]
    assert "LIMITED" in phone["canSendMessage"]["description"]
    assert "BLOCKED" in phone["canSendMessage"]["description"]
    assert "NOT_APPLICABLE" in phone["platformType"]["description"]
    assert list(issue["errorCode"]["examples"]) == [141006]
    assert PAYMENT_ISSUE in phone["healthIssues"]["examples"][0]


# --- what a refresh asks of Graph -------------------------------------------------------------------------


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request on to another transport and keeps it: the count of HTTP calls Graph received."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def graph_api(container: Container) -> AsyncIterator[tuple[Api, RecordingTransport]]:
    """The app with the real Graph adapter, talking to the fake Graph app through a transport that records."""
    graph_app = create_fake_graph_app(parse_fake_data(data_with_health()), access_token=GRAPH_TOKEN, page_size=100)
    transport = RecordingTransport(asgi_transport(graph_app))
    settings = GraphSettings(base_url="http://fake-graph.test", access_token=Secret(GRAPH_TOKEN))
    async with contextlib.asynccontextmanager(open_graph_client)(settings, transport=transport) as client:
        container.provider.override(providers.Object(GraphProvider(client, settings)))
        accounts = await container.accounts()
        keys = {ACCOUNT: (await accounts.create(ACCOUNT)).api_key}
        async with AsyncTestClient(app=create_app(container)) as test_client:
            yield Api(test_client, keys), transport


def calls(transport: RecordingTransport) -> list[tuple[str, str, dict[str, str]]]:
    return sorted((r.method, r.url.path, dict(r.url.params)) for r in transport.requests)


async def test_a_refresh_is_two_graph_calls_whose_fields_bring_the_health_of_every_number(
    graph_api: tuple[Api, RecordingTransport], clock: FakeClock
) -> None:
    api, transport = graph_api
    assert (await api.bind(WABA_ID, PHONE_ID)).json()["code"] == 0
    transport.requests.clear()
    clock.advance(TTL + 1)

    phone_info = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})

    assert [phone["canSendMessage"] for phone in phone_info.json()["data"]] == ["AVAILABLE", "LIMITED"]
    assert len(transport.requests) == 2  # two numbers, one page: no call per number
    assert calls(transport) == [
        (
            "GET",
            f"/v25.0/{WABA_ID}",
            {"fields": "id,name,account_review_status,business_verification_status,health_status"},
        ),
        (
            "GET",
            f"/v25.0/{WABA_ID}/phone_numbers",
            {
                "fields": "id,display_phone_number,verified_name,status,quality_rating,"
                "whatsapp_business_manager_messaging_limit,health_status,name_status,code_verification_status,"
                "platform_type,throughput",
                "limit": "100",
            },
        ),
    ]

    transport.requests.clear()
    clock.advance(TTL + 1)
    waba_info = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert waba_info.json()["data"][0]["businessVerificationStatus"] == "verified"
    assert [(method, path) for method, path, _ in calls(transport)] == [
        ("GET", f"/v25.0/{WABA_ID}"),
        ("GET", f"/v25.0/{WABA_ID}/phone_numbers"),
    ]
