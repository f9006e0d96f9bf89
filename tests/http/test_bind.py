"""POST /intwa-api/whatsapp/account/bind and /unbind (SPEC §3.3, §3.6)."""

from __future__ import annotations

import re

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.ports import Storage
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, UNKNOWN_WABA_ID, WABA_ID
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


async def test_binding_a_phone_number_answers_the_binding_in_the_envelope(api: Api) -> None:
    response = await api.bind(WABA_ID, PHONE_ID, phoneNumber="+62 852-1234-0016")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["code", "message", "data"]
    assert body["code"] == 0
    assert body["message"] == "Success"
    data = body["data"]
    assert {k: v for k, v in data.items() if k != "boundAt"} == {
        "accountName": ACCOUNT,
        "wabaId": WABA_ID,
        "phoneNumberId": PHONE_ID,
        "phoneNumber": "6285212340016",
    }
    assert RFC3339_UTC.fullmatch(data["boundAt"])


async def test_a_bind_without_phone_number_stores_the_display_number_digits(api: Api) -> None:
    response = await api.bind(WABA_ID, SECOND_PHONE_ID)

    assert response.json()["data"]["phoneNumber"] == "6285212340017"


async def test_binding_the_same_phone_again_changes_nothing(api: Api, fake_provider: FakeProvider) -> None:
    first = (await api.bind(WABA_ID, PHONE_ID)).json()
    second = (await api.bind(WABA_ID, PHONE_ID, phoneNumber="6285212340016")).json()

    assert second == first
    assert fake_provider.calls["subscribe_app"] == 1


async def test_binding_subscribes_the_app_once_per_waba(api: Api, fake_provider: FakeProvider) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    await api.bind(WABA_ID, SECOND_PHONE_ID)

    assert fake_provider.calls["subscribe_app"] == 1
    assert WABA_ID in fake_provider.subscribed


async def test_a_waba_bound_to_another_account_is_refused(api: Api, storage: Storage) -> None:
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.bind(WABA_ID, SECOND_PHONE_ID, account=OTHER_ACCOUNT)

    assert response.status_code == 409
    assert response.json() == {"code": 40900, "message": f"WABA `{WABA_ID}` is bound to another account", "data": None}
    assert [b.phone_number_id for b in await storage.list_bindings()] == [PHONE_ID]


async def test_a_phone_number_bound_to_another_account_is_refused(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.bind(WABA_ID, PHONE_ID, account=OTHER_ACCOUNT)

    assert response.status_code == 409
    assert response.json()["code"] == 40901
    assert PHONE_ID in response.json()["message"]


async def test_binding_a_waba_meta_does_not_know_is_refused_and_stores_nothing(api: Api, storage: Storage) -> None:
    response = await api.bind(UNKNOWN_WABA_ID, PHONE_ID)

    assert response.status_code == 422
    assert response.json()["code"] == 42200
    assert UNKNOWN_WABA_ID in response.json()["message"]
    assert await storage.list_bindings() == []


async def test_binding_a_phone_of_another_waba_is_rejected(api: Api, storage: Storage) -> None:
    response = await api.bind(WABA_ID, OTHER_WABA_PHONE_ID)

    assert response.status_code == 422
    assert response.json()["code"] == 42201
    assert OTHER_WABA_PHONE_ID in response.json()["message"]
    assert await storage.list_bindings() == []
    assert await storage.waba_owner(WABA_ID) is None


async def test_a_phone_number_that_does_not_match_the_display_number_is_rejected(api: Api, storage: Storage) -> None:
    response = await api.bind(WABA_ID, PHONE_ID, phoneNumber="+62 852-1234-9999")

    assert response.status_code == 422
    assert response.json()["code"] == 42202
    assert "phoneNumber" in response.json()["message"]
    assert await storage.list_bindings() == []


async def test_unbinding_answers_the_removed_binding(api: Api, storage: Storage) -> None:
    bound = (await api.bind(WABA_ID, PHONE_ID)).json()["data"]

    response = await api.post("unbind", {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": PHONE_ID})

    assert response.status_code == 200
    assert response.json() == {"code": 0, "message": "Success", "data": bound}
    assert await storage.list_bindings() == []


async def test_unbinding_the_last_phone_frees_the_waba_for_another_account(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)
    await api.bind(WABA_ID, SECOND_PHONE_ID)
    unbind = {"accountName": ACCOUNT, "wabaId": WABA_ID}

    await api.post("unbind", {**unbind, "phoneNumberId": PHONE_ID})
    still_owned = await api.bind(WABA_ID, PHONE_ID, account=OTHER_ACCOUNT)
    await api.post("unbind", {**unbind, "phoneNumberId": SECOND_PHONE_ID})
    freed = await api.bind(WABA_ID, PHONE_ID, account=OTHER_ACCOUNT)

    assert still_owned.json()["code"] == 40900
    assert freed.json()["code"] == 0
    assert freed.json()["data"]["accountName"] == OTHER_ACCOUNT


async def test_unbinding_a_binding_that_does_not_exist_is_404(api: Api) -> None:
    await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, account=OTHER_ACCOUNT)

    response = await api.post(
        "unbind", {"accountName": ACCOUNT, "wabaId": OTHER_WABA_ID, "phoneNumberId": OTHER_WABA_PHONE_ID}
    )

    assert response.status_code == 404
    assert response.json()["code"] == 40401
    assert response.json()["data"] is None
