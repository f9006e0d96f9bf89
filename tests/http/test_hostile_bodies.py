"""Bodies that msgspec cannot read — invalid UTF-8, nesting thousands deep — are 40000, never 50000 (SPEC §7).

Each is sent to every account endpoint and, correctly signed, to the webhook; none changes anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import (
    APP_SECRET,
    META_PHONE_ID,
    META_WABA_ID,
    notification,
    sign,
    write_fake_data_with_meta_waba,
)

ENDPOINTS = ["bind", "unbind", "phoneInfo", "wabaInfo", "callbackSet", "callbackInfo", "callbackDelete", "callbackTest"]
WEBHOOK = "/intwa-api/whatsapp/webhook"
DEEP = 5000
"""Far past the interpreter's recursion limit (1000), well within the body limit of this module."""

NOT_UTF8 = "the body is not valid UTF-8"
TOO_DEEP = "the body is nested too deeply to read"


def _bind_body(**fields: str) -> str:
    body = {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": SECOND_PHONE_ID, **fields}
    return json.dumps(body)[:-1]  # open: the hostile part is appended, then the brace


HOSTILE_ACCOUNT_BODIES = {
    "invalid UTF-8 in accountName": (b'{"accountName":"\xff\xfe","wabaId":"1","phoneNumberId":"2"}', NOT_UTF8),
    "invalid UTF-8 in a whole bind body": (
        _bind_body().replace(f'"{ACCOUNT}"', '"IW\udcff"', 1).encode(errors="surrogateescape") + b"}",
        NOT_UTF8,
    ),
    "an unknown field nested in arrays": (
        _bind_body().encode() + b',"x":' + b"[" * DEEP + b"]" * DEEP + b"}",
        TOO_DEEP,
    ),
    "an unknown field nested in objects": (
        _bind_body().encode() + b',"x":' + b'{"a":' * DEEP + b"1" + b"}" * DEEP + b"}",
        TOO_DEEP,
    ),
    "a deep array as the whole body": (b"[" * DEEP + b"]" * DEEP, "the body must be a JSON object"),
}


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Bodies up to 64 KiB (the default), and webhooks configured."""
    return {"SERVER__MAX_BODY_BYTES": "65536", "WEBHOOK__APP_SECRET": APP_SECRET}


@pytest.fixture
async def bound(api: Api, storage: Storage) -> list[tuple[str, str]]:
    """The account's bindings before the hostile request: one number of the test WABA, one of Meta's."""
    assert (await api.bind(WABA_ID, PHONE_ID)).json()["code"] == 0
    assert (await api.bind(META_WABA_ID, META_PHONE_ID)).json()["code"] == 0
    return await _bindings(storage)


async def _bindings(storage: Storage) -> list[tuple[str, str]]:
    return sorted((binding.waba_id, binding.phone_number_id) for binding in await storage.list_bindings())


async def _post_raw(api: Api, endpoint: str, body: bytes) -> tuple[int, dict[str, object]]:
    response = await api.client.post(
        f"/intwa-api/whatsapp/account/{endpoint}",
        content=body,
        headers={"Authorization": f"Bearer {api.keys[ACCOUNT]}", "Content-Type": "application/json"},
    )
    return response.status_code, response.json()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("body", "message"), HOSTILE_ACCOUNT_BODIES.values(), ids=HOSTILE_ACCOUNT_BODIES.keys())
async def test_an_unreadable_body_is_40000_on_every_account_endpoint_and_changes_nothing(
    api: Api, storage: Storage, bound: list[tuple[str, str]], endpoint: str, body: bytes, message: str
) -> None:
    status, answer = await _post_raw(api, endpoint, body)

    assert status == 400
    assert answer == {"code": 40000, "message": message, "data": None}
    assert await _bindings(storage) == bound


async def test_nesting_a_client_may_send_in_an_unknown_field_is_still_read(api: Api, storage: Storage) -> None:
    nested = b"[" * 100 + b"]" * 100

    status, answer = await _post_raw(api, "bind", _bind_body().encode() + b',"x":' + nested + b"}")

    assert status == 200
    assert answer["code"] == 0
    assert await _bindings(storage) == [(WABA_ID, SECOND_PHONE_ID)]


def _review(value: str) -> bytes:
    """A signed-to-be review decision of Meta's WABA, its value followed by `value` (raw JSON)."""
    body = notification("account_review_update", {"decision": "APPROVED"})
    return body.replace(b'"APPROVED"}', b'"APPROVED", "extra": ' + value.encode(errors="surrogateescape") + b"}", 1)


HOSTILE_WEBHOOK_BODIES = {
    "invalid UTF-8 in a value": (_review('"\udcff\udcfe"'), "the webhook body is not valid UTF-8"),
    "invalid UTF-8 in an ignored key": (
        notification("account_review_update", {"decision": "APPROVED"})[:-1] + b', "\xff": 1}',
        "the webhook body is not valid UTF-8",
    ),
    "a value nested in arrays": (_review("[" * DEEP + "]" * DEEP), "the webhook body is nested too deeply to read"),
    "a value nested in objects": (
        _review('{"a":' * DEEP + "1" + "}" * DEEP),
        "the webhook body is nested too deeply to read",
    ),
    "a deep array as the whole body": (b"[" * DEEP + b"]" * DEEP, "the webhook body is nested too deeply to read"),
    "a deep part of an odd shape": (
        b'{"object": "whatsapp_business_account", "entry": "odd", "x": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        "the webhook body is nested too deeply to read",
    ),
}


@pytest.mark.parametrize(("body", "message"), HOSTILE_WEBHOOK_BODIES.values(), ids=HOSTILE_WEBHOOK_BODIES.keys())
async def test_an_unreadable_signed_webhook_is_40000_and_applies_nothing(
    api: Api, storage: Storage, bound: list[tuple[str, str]], body: bytes, message: str
) -> None:
    response = await api.client.post(WEBHOOK, content=body, headers={"X-Hub-Signature-256": sign(body)})

    assert response.status_code == 400
    assert response.json() == {"code": 40000, "message": message, "data": None}
    wabas = (await api.post("wabaInfo", {"accountName": ACCOUNT})).json()["data"]
    assert {waba["wabaId"]: waba["wabaStatus"] for waba in wabas}[META_WABA_ID] == "PENDING"
    assert await storage.list_history(META_WABA_ID) == []
    assert await storage.list_webhook_events() == []
    assert await _bindings(storage) == bound
