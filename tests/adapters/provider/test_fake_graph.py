"""The fake Graph app answers like Meta's documented payloads, over ASGI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from intwa.adapters.provider.fake_data import FakeGraphData, parse_fake_data
from intwa.adapters.provider.fake_graph import create_fake_graph_app
from tests.adapters.provider.graph_doubles import asgi_transport, graph_fixture

TOKEN = "fake-graph-token"
BASE_URL = "http://fake-graph.test"
WABA_ID = "278990000057661"
WABA_PATH = f"/v25.0/{WABA_ID}"
PHONES_PATH = f"/v25.0/{WABA_ID}/phone_numbers"
PHONE_IDS = ["267300000093634", "267300000093635", "267300000093636"]

DATA: dict[str, Any] = {
    "wabas": [
        {
            "id": WABA_ID,
            "name": "PT TIG TECH",
            "account_review_status": "APPROVED",
            "phone_numbers": [
                {
                    "id": phone_id,
                    "display_phone_number": f"+62 852-1234-00{16 + index}",
                    "verified_name": "TIG Tech",
                    "status": "CONNECTED",
                    "quality_rating": "GREEN",
                    "whatsapp_business_manager_messaging_limit": "TIER_250",
                }
                for index, phone_id in enumerate(PHONE_IDS)
            ],
        }
    ]
}

MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture
def data() -> FakeGraphData:
    return parse_fake_data(DATA)


@pytest.fixture
async def make_client(data: FakeGraphData) -> AsyncIterator[MakeClient]:
    clients: list[httpx.AsyncClient] = []

    def make(*, token: str | None = TOKEN, access_token: str | None = TOKEN, page_size: int = 1) -> httpx.AsyncClient:
        app = create_fake_graph_app(data, access_token=access_token, page_size=page_size)
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        client = httpx.AsyncClient(transport=asgi_transport(app), base_url=BASE_URL, headers=headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def graph(make_client: MakeClient) -> httpx.AsyncClient:
    return make_client()


def error_shape(payload: dict[str, Any]) -> tuple[set[str], Any, Any, Any]:
    error = payload["error"]
    return set(error), error["type"], error["code"], error.get("error_subcode")


async def test_a_waba_answers_only_the_requested_fields_and_its_id(graph: httpx.AsyncClient) -> None:
    response = await graph.get(WABA_PATH, params={"fields": "account_review_status"})

    assert response.status_code == 200
    assert response.json() == {"id": WABA_ID, "account_review_status": "APPROVED"}


async def test_a_waba_answers_what_intwa_asks_like_the_documented_payload(graph: httpx.AsyncClient) -> None:
    response = await graph.get(WABA_PATH, params={"fields": "id,name,account_review_status"})

    assert set(response.json()) == set(json.loads(graph_fixture("waba.json")))


async def test_without_fields_a_waba_answers_graphs_default_fields(graph: httpx.AsyncClient) -> None:
    response = await graph.get(WABA_PATH)

    assert response.json() == {"id": WABA_ID, "name": "PT TIG TECH"}


@pytest.mark.parametrize("path", [WABA_PATH, PHONES_PATH])
async def test_a_field_the_node_lacks_is_graph_error_100(graph: httpx.AsyncClient, path: str) -> None:
    response = await graph.get(path, params={"fields": "id,bogus_field"})

    assert response.status_code == 400
    documented = json.loads(graph_fixture("error_nonexisting_field.json"))
    assert error_shape(response.json()) == error_shape(documented)
    assert "nonexisting field (bogus_field)" in response.json()["error"]["message"]


async def test_phone_numbers_come_in_short_pages_chained_by_absolute_next_urls(graph: httpx.AsyncClient) -> None:
    fields = "id,quality_rating"
    response = await graph.get(PHONES_PATH, params={"fields": fields, "limit": 100})
    pages = [response.json()]
    while "next" in pages[-1]["paging"]:
        next_url = httpx.URL(pages[-1]["paging"]["next"])
        assert next_url.host == "fake-graph.test"
        assert next_url.path == PHONES_PATH
        assert next_url.params["fields"] == fields
        assert next_url.params["after"] == pages[-1]["paging"]["cursors"]["after"]
        pages.append((await graph.get(next_url)).json())

    assert [[phone["id"] for phone in page["data"]] for page in pages] == [[phone_id] for phone_id in PHONE_IDS]
    assert pages[0]["data"][0] == {"id": PHONE_IDS[0], "quality_rating": "GREEN"}
    documented = json.loads(graph_fixture("phone_numbers_page1.json"))
    assert set(pages[0]["paging"]) == set(documented["paging"])
    assert set(pages[0]["paging"]["cursors"]) == set(documented["paging"]["cursors"])


async def test_limit_and_page_size_both_shorten_pages(make_client: MakeClient) -> None:
    graph = make_client(page_size=10)

    by_limit = (await graph.get(PHONES_PATH, params={"limit": 2})).json()
    whole = (await graph.get(PHONES_PATH, params={"limit": 100})).json()

    assert len(by_limit["data"]) == 2
    assert "next" in by_limit["paging"]
    assert len(whole["data"]) == 3
    assert "next" not in whole["paging"]


async def test_a_waba_without_phone_numbers_has_an_empty_list() -> None:
    empty = parse_fake_data({"wabas": [{"id": "1"}]})
    app = create_fake_graph_app(empty, access_token=None)
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=BASE_URL) as graph:
        response = await graph.get("/v25.0/1/phone_numbers", headers={"Authorization": "Bearer any"})

    assert response.json() == {"data": []}


@pytest.mark.parametrize(
    ("token", "access_token"),
    [("wrong-token", TOKEN), (None, TOKEN), (None, None), ("", None)],
    ids=["wrong", "missing", "missing-any-accepted", "empty-any-accepted"],
)
async def test_a_bad_token_is_graph_error_190_with_http_401(
    make_client: MakeClient, token: str | None, access_token: str | None
) -> None:
    graph = make_client(token=token, access_token=access_token)

    for response in [
        await graph.get(WABA_PATH),
        await graph.get(PHONES_PATH),
        await graph.post(f"{WABA_PATH}/subscribed_apps"),
    ]:
        assert response.status_code == 401
        assert response.json()["error"]["code"] == 190
        assert response.json()["error"]["fbtrace_id"]


async def test_any_token_is_accepted_when_none_is_configured(make_client: MakeClient) -> None:
    graph = make_client(token="whatever", access_token=None)

    assert (await graph.get(WABA_PATH)).status_code == 200


@pytest.mark.parametrize("request_line", [("GET", "/v25.0/999"), ("GET", "/v25.0/999/phone_numbers")])
async def test_an_unknown_waba_is_graph_error_100_33(graph: httpx.AsyncClient, request_line: tuple[str, str]) -> None:
    response = await graph.request(*request_line)

    assert response.status_code == 400
    documented = json.loads(graph_fixture("error_not_found.json"))
    assert error_shape(response.json()) == error_shape(documented)
    assert "Object with ID '999' does not exist" in response.json()["error"]["message"]


async def test_subscribing_answers_success_like_the_documented_payload(graph: httpx.AsyncClient) -> None:
    response = await graph.post(f"{WABA_PATH}/subscribed_apps")

    assert response.status_code == 200
    assert response.json() == json.loads(graph_fixture("subscribed_apps_post.json"))
    assert (await graph.post("/v25.0/999/subscribed_apps")).json()["error"]["error_subcode"] == 33


async def test_the_call_counter_counts_waba_reads_first_pages_and_subscriptions(graph: httpx.AsyncClient) -> None:
    await graph.get(WABA_PATH)
    first_page = (await graph.get(PHONES_PATH)).json()
    await graph.get(first_page["paging"]["next"])
    await graph.post(f"{WABA_PATH}/subscribed_apps")
    await graph.post(f"{WABA_PATH}/subscribed_apps")

    counted = await graph.get("/_fake/calls")

    assert counted.json() == {"fetch_waba": 1, "fetch_phone_numbers": 1, "subscribe_app": 2}
    assert (await graph.delete("/_fake/calls")).status_code == 204
    assert (await graph.get("/_fake/calls")).json() == {"fetch_waba": 0, "fetch_phone_numbers": 0, "subscribe_app": 0}


async def test_a_change_to_the_data_shows_in_the_next_answer(data: FakeGraphData, graph: httpx.AsyncClient) -> None:
    data.update_phone(WABA_ID, PHONE_IDS[0], quality_rating="RED")
    data.update_waba(WABA_ID, name=None)

    phones = (await graph.get(PHONES_PATH, params={"fields": "quality_rating"})).json()
    waba = (await graph.get(WABA_PATH, params={"fields": "name"})).json()

    assert phones["data"][0] == {"id": PHONE_IDS[0], "quality_rating": "RED"}
    assert waba == {"id": WABA_ID}


async def test_health_is_answered_without_a_token(make_client: MakeClient) -> None:
    graph = make_client(token=None)

    response = await graph.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_an_unknown_path_is_a_graph_error(graph: httpx.AsyncClient) -> None:
    response = await graph.get("/v25.0/1/2/3")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2500


def test_a_page_size_below_one_is_refused(data: FakeGraphData) -> None:
    with pytest.raises(ValueError, match="page_size"):
        create_fake_graph_app(data, page_size=0)


async def test_health_status_is_served_as_meta_shapes_it_when_asked_for(
    data: FakeGraphData, graph: httpx.AsyncClient
) -> None:
    blocked = json.loads(graph_fixture("waba_health_blocked.json"))
    limited = json.loads(graph_fixture("phone_number_health_limited.json"))["health_status"]
    data.update_waba(WABA_ID, health_status=blocked["health_status"], business_verification_status="verified")
    data.update_phone(WABA_ID, PHONE_IDS[0], health_status=limited, throughput={"level": "STANDARD"})

    waba = (await graph.get(WABA_PATH, params={"fields": "business_verification_status,health_status"})).json()
    phones = (await graph.get(PHONES_PATH, params={"fields": "health_status,throughput"})).json()
    bare = (await graph.get(WABA_PATH, params={"fields": "name"})).json()

    assert waba == {
        "id": WABA_ID,
        "business_verification_status": "verified",
        "health_status": blocked["health_status"],
    }
    assert phones["data"][0] == {"id": PHONE_IDS[0], "health_status": limited, "throughput": {"level": "STANDARD"}}
    assert bare == {"id": WABA_ID, "name": "PT TIG TECH"}
