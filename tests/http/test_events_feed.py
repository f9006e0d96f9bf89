"""POST /intwa-api/whatsapp/account/events: the pull feed of customer events (SPEC §3.10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from litestar.serialization import encode_json

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container
from intwa.domain.errors import StorageUnavailable
from intwa.domain.ports import Storage
from intwa.entrypoints.http.app import create_app
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api
from tests.webhook_examples import (
    APP_SECRET,
    META_PHONE_ID,
    META_WABA_ID,
    fixture_body,
    restamped,
    sign,
    write_fake_data_with_meta_waba,
)

TTL = 300  # the default cache.ttl_seconds
UNKNOWN_EVENT = "evt_01M8E41EPV21PAHF04GANH11AT"


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"WEBHOOK__APP_SECRET": APP_SECRET}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def feed(api: Api, *, account: str = ACCOUNT, key_of: str | None = None, **body: Any) -> Any:
    return await api.post("events", {"accountName": account, **body}, account=key_of or account)


async def events(api: Api, **body: Any) -> list[dict[str, Any]]:
    response = await feed(api, **body)
    assert response.status_code == 200, response.text
    answer: list[dict[str, Any]] = response.json()["data"]["events"]
    return answer


async def test_a_bind_is_in_the_feed_as_binding_created_with_binds_data(api: Api) -> None:
    bound = (await api.bind(WABA_ID, PHONE_ID)).json()["data"]

    response = await feed(api)

    assert response.status_code == 200
    body = response.json()
    [event] = body["data"]["events"]
    assert (body["code"], body["message"], body["data"]["next"]) == (0, "Success", event["id"])
    assert event["type"] == "binding.created"
    assert event["timestamp"] == bound["boundAt"]
    assert event["data"] == {
        "accountName": ACCOUNT,
        "wabaId": WABA_ID,
        "sequence": 1,
        "source": "bind",
        "phoneNumberId": PHONE_ID,
        "binding": bound,
    }


async def test_the_feed_pages_with_after_and_limit_and_next_stays_put_when_nothing_is_new(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    await api.bind(WABA_ID, SECOND_PHONE_ID)
    await api.post("unbind", {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": SECOND_PHONE_ID})

    first = (await feed(api, limit=2)).json()["data"]
    second = (await feed(api, after=first["next"], limit=2)).json()["data"]
    third = (await feed(api, after=second["next"])).json()["data"]

    assert [event["type"] for event in first["events"]] == ["binding.created", "binding.created"]
    assert [(event["type"], event["data"]["source"]) for event in second["events"]] == [("binding.removed", "request")]
    assert [event["data"]["sequence"] for event in (*first["events"], *second["events"])] == [1, 2, 3]
    assert (third["events"], third["next"]) == ([], second["next"])
    assert (await feed(api)).json()["data"]["events"] == [*first["events"], *second["events"]]


async def test_an_account_without_events_gets_an_empty_page_and_no_next(api: Api) -> None:
    assert (await feed(api)).json()["data"] == {"events": [], "next": None}
    assert (await feed(api, after=None, limit=100)).json()["data"] == {"events": [], "next": None}


async def test_an_event_of_a_phone_number_carries_exactly_what_phone_info_answers(
    api: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED", status="FLAGGED")
    clock.advance(TTL + 1)

    phone_info = (await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})).json()["data"]

    updated = (await events(api))[1]
    assert updated["type"] == "phone_number.updated"
    assert updated["data"]["source"] == "request"
    assert updated["data"]["changes"] == [
        {"field": "status", "old": "CONNECTED", "new": "FLAGGED"},
        {"field": "qualityRating", "old": "GREEN", "new": "RED"},
    ]
    assert updated["data"]["phone"] == next(item for item in phone_info if item["id"] == PHONE_ID)


async def test_a_waba_event_carries_exactly_what_waba_info_answers(
    api: Api, fake_provider: FakeProvider, clock: FakeClock
) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    fake_provider.update_waba(OTHER_WABA_ID, account_review_status="APPROVED")
    clock.advance(TTL + 1)

    waba_info = (await api.post("wabaInfo", {"accountName": ACCOUNT})).json()["data"]

    updated = (await events(api))[1]
    assert updated["type"] == "waba.updated"
    assert updated["data"]["changes"] == [{"field": "wabaStatus", "old": "PENDING", "new": "APPROVED"}]
    assert updated["data"]["waba"] == waba_info[0]


async def test_metas_account_update_is_a_waba_account_update_event_once_meta_has_its_200(api: Api) -> None:
    await api.bind(META_WABA_ID, META_PHONE_ID)
    body = restamped(fixture_body("account_update_restriction"))

    response = await api.client.post(
        "/intwa-api/whatsapp/webhook", content=body, headers={"X-Hub-Signature-256": sign(body)}
    )

    assert response.status_code == 200
    account_update = next(event for event in await events(api) if event["type"] == "waba.account_update")
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    assert account_update["data"] == {
        "accountName": ACCOUNT,
        "wabaId": META_WABA_ID,
        "sequence": 2,
        "source": "webhook",
        "event": value["event"],
        "value": value,
    }


# refusals


@pytest.mark.parametrize("limit", [0, 501, -1, "10", 10.5, True, None])
async def test_a_limit_that_is_not_an_integer_from_1_to_500_is_40000_naming_limit(api: Api, limit: Any) -> None:
    response = await feed(api, limit=limit)

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert "limit" in response.json()["message"]


@pytest.mark.parametrize("limit", [1, 500, 1.0])
async def test_a_limit_of_1_to_500_is_taken_also_written_as_a_whole_float(api: Api, limit: float) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    await api.bind(WABA_ID, SECOND_PHONE_ID)

    assert len(await events(api, limit=limit)) == min(limit, 2)


@pytest.mark.parametrize("after", ["", "evt_1", UNKNOWN_EVENT.lower(), 12345, ["evt_"]])
async def test_an_after_that_is_no_event_id_is_40000_naming_after(api: Api, after: Any) -> None:
    response = await feed(api, after=after)

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert "after" in response.json()["message"]


async def test_an_unknown_after_and_another_accounts_event_are_the_same_40000(api: Api) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, account=OTHER_ACCOUNT)
    [theirs] = await events(api, account=OTHER_ACCOUNT)

    unknown = await feed(api, after=UNKNOWN_EVENT)
    foreign = await feed(api, after=theirs["id"])

    assert unknown.status_code == foreign.status_code == 400
    assert unknown.json()["code"] == foreign.json()["code"] == 40000
    assert unknown.json()["message"].replace(UNKNOWN_EVENT, "X") == foreign.json()["message"].replace(theirs["id"], "X")
    assert "`after`" in foreign.json()["message"]
    assert OTHER_ACCOUNT not in foreign.json()["message"]


async def test_an_event_past_the_retention_is_no_longer_a_place_to_read_on_from(api: Api, clock: FakeClock) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    [old] = await events(api)
    clock.advance(7 * 86400 + 1)

    response = await feed(api, after=old["id"])

    assert (response.status_code, response.json()["code"]) == (400, 40000)
    assert "older than 7 days" in response.json()["message"]
    assert await events(api) == []


async def test_the_feed_needs_the_accounts_own_key(api: Api) -> None:
    missing = await api.client.post("/intwa-api/whatsapp/account/events", json={"accountName": ACCOUNT})
    other_key = await feed(api, key_of=OTHER_ACCOUNT)
    wrong_key = await api.post("events", {"accountName": ACCOUNT}, key="not-a-key")

    assert (missing.status_code, missing.json()["code"]) == (401, 40100)
    assert (other_key.status_code, other_key.json()["code"]) == (403, 40300)
    assert (wrong_key.status_code, wrong_key.json()["code"]) == (401, 40100)


async def test_a_storage_outage_is_50301_with_retry_after(
    api: Api, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unavailable(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable("storage is unavailable (connection lost); retry in 5 s")

    monkeypatch.setattr(storage, "read_events", unavailable)

    response = await feed(api)

    assert (response.status_code, response.json()["code"]) == (503, 50301)
    assert response.headers["retry-after"] == "5"


# the document


def test_the_documented_example_of_the_feed_is_valid_by_the_documented_schema(container: Container) -> None:
    document = json.loads(encode_json(create_app(container).openapi_schema.to_schema()))
    success = document["paths"]["/intwa-api/whatsapp/account/events"]["post"]["responses"]["200"]["content"]
    [example] = success["application/json"]["examples"].values()
    schema = {"$ref": "#/components/schemas/EventsEnvelope", "components": document["components"]}

    jsonschema_rs.validate(schema, example["value"])  # schemathesis's own validator
    assert {event["type"] for event in example["value"]["data"]["events"]} == {
        "phone_number.updated",
        "waba.account_update",
    }
