"""Every bad input of SPEC §3.2 gets 40000 naming the field (or 41300), and stores nothing."""

from __future__ import annotations

from typing import Any

import pytest

from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID
from tests.http.conftest import ACCOUNT, Api

VALID_BIND = {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": PHONE_ID}

BAD_FIELDS = [
    ("accountName", ""),
    ("accountName", "_IW0001"),
    ("accountName", "IW 0001"),
    ("accountName", "I" * 65),
    ("accountName", "IW0001/.."),
    ("accountName", 1),
    ("accountName", None),
    ("wabaId", 278990000057661),
    ("wabaId", ""),
    ("wabaId", "27899000005766a"),
    ("wabaId", "1" * 33),
    ("wabaId", " 278990000057661"),
    ("wabaId", "２７８"),
    ("phoneNumberId", 267300000093634),
    ("phoneNumberId", "-267300000093634"),
    ("phoneNumberId", "2673.5"),
    ("phoneNumber", "12345"),
    ("phoneNumber", "1234567890123456"),
    ("phoneNumber", "+62 852-1234-abcd"),
    ("phoneNumber", "++6285212340016"),
    ("phoneNumber", 6285212340016),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
async def test_a_bad_bind_field_is_40000_naming_the_field(api: Api, storage: Storage, field: str, value: Any) -> None:
    response = await api.post("bind", {**VALID_BIND, field: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 40000
    assert body["data"] is None
    assert field in body["message"]
    assert await storage.list_bindings() == []


@pytest.mark.parametrize("field", ["accountName", "wabaId", "phoneNumberId"])
async def test_a_missing_bind_field_is_40000_naming_the_field(api: Api, storage: Storage, field: str) -> None:
    body = {k: v for k, v in VALID_BIND.items() if k != field}

    response = await api.post("bind", body)

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert field in response.json()["message"]
    assert await storage.list_bindings() == []


@pytest.mark.parametrize("endpoint", ["bind", "unbind", "phoneInfo", "wabaInfo"])
@pytest.mark.parametrize("raw", [b"[]", b'"IW0001"', b"{", b"", b"null", b"\xff\xfe"])
async def test_a_body_that_is_not_a_json_object_is_40000(api: Api, endpoint: str, raw: bytes) -> None:
    response = await api.client.post(
        f"/intwa-api/whatsapp/account/{endpoint}",
        content=raw,
        headers={"Authorization": f"Bearer {api.keys[ACCOUNT]}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert response.json()["data"] is None


async def test_unknown_request_fields_are_ignored(api: Api) -> None:
    response = await api.post("bind", {**VALID_BIND, "comment": "ignored", "nested": {"x": 1}})

    assert response.json()["code"] == 0


async def test_a_body_over_the_limit_is_41300_and_stores_nothing(api: Api, storage: Storage) -> None:
    response = await api.post("bind", {**VALID_BIND, "padding": "x" * 4096})

    assert response.status_code == 413
    assert response.json() == {"code": 41300, "message": "the request body is larger than 2048 bytes", "data": None}
    assert await storage.list_bindings() == []


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("phoneInfo", {"accountName": ACCOUNT, "wabaId": "abc"}, "wabaId"),
        ("phoneInfo", {"accountName": ACCOUNT}, "wabaId"),
        ("wabaInfo", {"accountName": "bad name"}, "accountName"),
        ("unbind", {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": 1}, "phoneNumberId"),
    ],
)
async def test_bad_fields_of_the_other_endpoints_are_40000(api: Api, endpoint: str, body: Any, field: str) -> None:
    response = await api.post(endpoint, body)

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert field in response.json()["message"]
