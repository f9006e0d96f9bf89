"""GET and POST /intwa-api/whatsapp/webhook (SPEC §3.9): Meta's documented payloads, signed by the test."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container, build_container
from intwa.domain.errors import WabaNotAccessible
from intwa.domain.ports import Storage
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.app import create_app
from tests.conftest import make_settings
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import (
    APP_SECRET,
    META_PARTNER_BUSINESS_ID,
    META_PHONE_ID,
    META_WABA_ID,
    fixture_body,
    restamped,
    sign,
    write_fake_data_with_meta_waba,
)

WEBHOOK = "/intwa-api/whatsapp/webhook"
VERIFY_TOKEN = "test-verify-token"
SUCCESS = {"code": 0, "message": "Success", "data": None}


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Webhooks configured; no background sync to add provider calls."""
    return {"WEBHOOK__APP_SECRET": APP_SECRET, "WEBHOOK__VERIFY_TOKEN": VERIFY_TOKEN}


@pytest.fixture
async def apply_webhook(container: Container) -> ApplyWebhook:
    return await resolve(container.apply_webhook)


@pytest.fixture
async def bound(api: Api) -> None:
    response = await api.bind(META_WABA_ID, META_PHONE_ID)
    assert response.status_code == 200


async def post_webhook(api: Api, body: bytes, signature: str | None = None, *, signed: bool = True) -> Any:
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["X-Hub-Signature-256"] = signature or sign(body)
    return await api.client.post(WEBHOOK, content=body, headers=headers)


async def waba_status(api: Api) -> str:
    response = await api.post("wabaInfo", {"accountName": ACCOUNT})
    statuses: dict[str, str] = {waba["wabaId"]: waba["wabaStatus"] for waba in response.json()["data"]}
    return statuses[META_WABA_ID]


def drain(api: Api, apply_webhook: ApplyWebhook) -> None:
    """Wait for the refreshes that webhooks started: they run on the app's loop, in the test client's thread."""
    api.client.blocking_portal.call(apply_webhook.drain)


def fetches(provider: FakeProvider) -> int:
    return provider.calls["fetch_waba"] + provider.calls["fetch_phone_numbers"]


# POST: effects


@pytest.mark.usefixtures("bound")
async def test_a_signed_review_decision_changes_waba_info_and_a_replay_adds_no_history(
    api: Api, storage: Storage
) -> None:
    body = restamped(fixture_body("account_review_update"))  # posted as the decision is made
    assert await waba_status(api) == "PENDING"

    first = await post_webhook(api, body)
    replay = await post_webhook(api, body)

    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json() == SUCCESS
    assert await waba_status(api) == "APPROVED"
    history = await storage.list_history(META_WABA_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [("wabaStatus", "PENDING", "APPROVED", "webhook")]


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize("name", ["phone_number_quality_update", "phone_number_name_update"])
async def test_a_phone_update_refreshes_the_waba_once_from_the_provider(
    api: Api, storage: Storage, fake_provider: FakeProvider, apply_webhook: ApplyWebhook, name: str
) -> None:
    fake_provider.update_phone(META_WABA_ID, META_PHONE_ID, whatsapp_business_manager_messaging_limit="TIER_UNLIMITED")
    calls = fetches(fake_provider)

    response = await post_webhook(api, fixture_body(name))
    drain(api, apply_webhook)

    assert response.json() == SUCCESS
    assert fetches(fake_provider) == calls + 2  # the WABA and its phone numbers, once each
    history = await storage.list_history(META_WABA_ID, META_PHONE_ID)
    assert [(c.field, c.old, c.new, c.source) for c in history] == [
        ("messageLimit", "TIER_1K", "TIER_UNLIMITED", "webhook")
    ]
    phones = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": META_WABA_ID})
    assert phones.json()["data"][0]["messageLimit"] == "TIER_UNLIMITED"


async def test_the_answer_does_not_wait_for_the_refresh_and_shutdown_cancels_it(
    container: Container, storage: Storage, fake_provider: FakeProvider
) -> None:
    await (await resolve(container.accounts)).create(ACCOUNT)
    await (await resolve(container.bind_phone_number))(ACCOUNT, META_WABA_ID, META_PHONE_ID)
    fake_provider.update_phone(META_WABA_ID, META_PHONE_ID, quality_rating="RED")
    fake_provider.latency_seconds = 5.0
    apply_webhook = await resolve(container.apply_webhook)
    body = fixture_body("phone_number_quality_update")
    started = time.monotonic()

    async with AsyncTestClient(app=create_app(container)) as client:
        response = await client.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": sign(body)})
        answered = time.monotonic() - started
        assert apply_webhook.pending == 1
        assert await storage.list_history() == []

    assert response.json() == SUCCESS
    assert answered < fake_provider.latency_seconds
    assert apply_webhook.pending == 0
    assert time.monotonic() - started < fake_provider.latency_seconds


@pytest.mark.usefixtures("bound")
async def test_a_removed_partner_is_recorded_and_phone_info_is_42200_once_meta_no_longer_answers(
    api: Api, storage: Storage, fake_provider: FakeProvider, apply_webhook: ApplyWebhook
) -> None:
    body = fixture_body("account_update_partner_removed")
    fake_provider.fail_with(META_WABA_ID, WabaNotAccessible(f"WABA `{META_WABA_ID}` is not shared with the platform"))
    calls = fetches(fake_provider)

    first = await post_webhook(api, body)
    replay = await post_webhook(api, body)
    drain(api, apply_webhook)
    phones = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": META_WABA_ID})

    assert first.json() == replay.json() == SUCCESS
    events = await storage.list_webhook_events(META_WABA_ID)
    assert [(e.object_id, e.waba_id, e.event) for e in events] == [
        (META_PARTNER_BUSINESS_ID, META_WABA_ID, "PARTNER_REMOVED")
    ]
    assert fetches(fake_provider) > calls
    assert phones.status_code == 422
    assert phones.json()["code"] == 42200


@pytest.mark.usefixtures("bound")
async def test_a_capability_update_is_recorded_once_even_when_replayed(
    api: Api, storage: Storage, apply_webhook: ApplyWebhook
) -> None:
    document = json.loads(fixture_body("business_capability_update"))
    document["entry"][0]["id"] = META_WABA_ID  # about the bound WABA
    body = json.dumps(document).encode()

    for _ in range(3):
        assert (await post_webhook(api, body)).json() == SUCCESS
    drain(api, apply_webhook)

    events = await storage.list_webhook_events()
    assert [(e.object_id, e.field) for e in events] == [(META_WABA_ID, "business_capability_update")]


async def test_a_capability_update_of_a_waba_that_is_not_bound_is_not_kept(api: Api, storage: Storage) -> None:
    assert (await post_webhook(api, fixture_body("business_capability_update"))).json() == SUCCESS

    assert await storage.list_webhook_events() == []


@pytest.mark.usefixtures("bound")
async def test_unknown_keys_around_a_known_change_are_ignored_and_the_change_applied(api: Api) -> None:
    payload = json.loads(restamped(fixture_body("account_review_update")))
    payload["new_top_level"] = {"a": 1}
    payload["entry"][0]["new_entry_key"] = [1, 2]
    payload["entry"][0]["changes"][0]["new_change_key"] = None
    payload["entry"][0]["changes"][0]["value"]["new_value_key"] = "x"

    response = await post_webhook(api, json.dumps(payload).encode())

    assert response.json() == SUCCESS
    assert await waba_status(api) == "APPROVED"


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize(
    "payload",
    [
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": META_WABA_ID,
                    "time": 1,
                    "changes": [
                        {
                            "field": "message_template_status_update",
                            "value": {"event": "APPROVED", "message_template_id": 1},
                        }
                    ],
                }
            ],
        },
        {
            "object": "whatsapp_business_account",
            "new_key": [1],
            "entry": [
                {
                    "id": "278990000099999",  # a WABA that is not bound
                    "time": 1,
                    "x": {},
                    "changes": [
                        {
                            "field": "phone_number_quality_update",
                            "value": {"display_phone_number": "15550001111", "new_key": True},
                            "new_key": 1,
                        }
                    ],
                }
            ],
        },
        {
            "object": "page",
            "entry": [
                {"id": META_WABA_ID, "changes": [{"field": "account_review_update", "value": {"decision": "REJECTED"}}]}
            ],
        },
        {"object": "whatsapp_business_account", "entry": [{"id": META_WABA_ID}, "odd", {"changes": None}]},
    ],
    ids=["unknown field", "unknown keys and an unbound WABA's phone", "unknown object", "entries without changes"],
)
async def test_unknown_fields_and_keys_are_accepted_and_change_nothing(
    api: Api, storage: Storage, fake_provider: FakeProvider, apply_webhook: ApplyWebhook, payload: Any
) -> None:
    calls = fetches(fake_provider)

    response = await post_webhook(api, json.dumps(payload).encode())
    drain(api, apply_webhook)

    assert response.status_code == 200
    assert response.json() == SUCCESS
    assert await storage.list_history() == []
    assert await storage.list_webhook_events() == []
    assert fetches(fake_provider) == calls
    assert await waba_status(api) == "PENDING"


# POST: refusals


@pytest.mark.usefixtures("bound")
@pytest.mark.parametrize(
    ("signature", "signed", "status", "code"),
    [
        (None, False, 401, 40100),
        ("sha256=" + "0" * 64, True, 403, 40300),
        (sign(b"another body"), True, 403, 40300),
        (sign(fixture_body("account_review_update"), "not-the-app-secret"), True, 403, 40300),
    ],
    ids=["unsigned", "forged", "signature of another body", "signed with another secret"],
)
async def test_unsigned_and_forged_posts_are_refused_and_nothing_is_applied(
    api: Api,
    storage: Storage,
    fake_provider: FakeProvider,
    apply_webhook: ApplyWebhook,
    signature: str | None,
    signed: bool,
    status: int,
    code: int,
) -> None:
    calls = fetches(fake_provider)

    responses = [
        await post_webhook(api, fixture_body(name), signature, signed=signed)
        for name in ("account_review_update", "phone_number_quality_update", "account_update_partner_removed")
    ]
    drain(api, apply_webhook)

    assert {(r.status_code, r.json()["code"], r.json()["data"]) for r in responses} == {(status, code, None)}
    assert "X-Hub-Signature-256" in responses[0].json()["message"]
    assert await waba_status(api) == "PENDING"
    assert await storage.list_history() == []
    assert await storage.list_webhook_events() == []
    assert fetches(fake_provider) == calls


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"text"'])
async def test_a_signed_body_that_is_not_a_json_object_is_a_400(api: Api, body: bytes) -> None:
    response = await post_webhook(api, body)

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert response.json()["data"] is None


async def test_a_body_over_the_limit_is_a_413(api: Api) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "padding": "x" * 4096}).encode()

    response = await post_webhook(api, body)

    assert response.status_code == 413
    assert response.json()["code"] == 41300


async def test_the_webhook_needs_no_api_key_and_other_methods_are_405(api: Api) -> None:
    response = await api.client.put(WEBHOOK, content=b"{}")

    assert response.status_code == 405
    assert response.json()["code"] == 40500


# GET: the subscription handshake


async def test_the_handshake_answers_the_challenge_as_plain_text(api: Api) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}

    response = await api.client.get(WEBHOOK, params=params)

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ],
    ids=["wrong token", "wrong mode", "no mode", "nothing"],
)
async def test_the_handshake_without_the_verify_token_is_a_403(api: Api, params: dict[str, str]) -> None:
    response = await api.client.get(WEBHOOK, params=params)

    assert response.status_code == 403
    assert response.json()["code"] == 40300
    assert response.json()["data"] is None


# without an app secret


async def test_without_an_app_secret_the_webhook_is_an_unknown_path(tmp_path: Path, fake_data_path: Path) -> None:
    settings = make_settings(tmp_path, fake_data_path, WEBHOOK__VERIFY_TOKEN=VERIFY_TOKEN, SYNC__INTERVAL_SECONDS="0")
    body = fixture_body("account_review_update")
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"}

    async with AsyncTestClient(app=create_app(build_container(settings))) as client:
        post = await client.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": sign(body, "")})
        get = await client.get(WEBHOOK, params=params)

    for response in (post, get):
        assert response.status_code == 404
        assert response.json() == {"code": 40400, "message": f"no such path: {WEBHOOK}", "data": None}


# documentation


async def test_the_openapi_document_describes_the_webhook(api: Api) -> None:
    schema = (await api.client.get("/schema/openapi.json")).json()

    path = schema["paths"][WEBHOOK]
    assert path["post"]["requestBody"]["content"]["application/json"]["schema"]["type"] == "object"
    assert {"400", "401", "403", "404", "413"} <= set(path["post"]["responses"])
    assert "security" not in path["post"]
    assert {p["name"] for p in path["get"]["parameters"]} >= {"hub.mode", "hub.verify_token", "hub.challenge"}
    assert "text/plain" in path["get"]["responses"]["200"]["content"]
