"""Bearer keys and the accountName check (SPEC §3.1, §3.8: 40100, 40300)."""

from __future__ import annotations

import pytest

from intwa.container import Container
from tests.conftest import PHONE_ID, WABA_ID
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api

PHONE_INFO = "/intwa-api/whatsapp/account/phoneInfo"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer a b"}],
)
async def test_a_missing_or_malformed_key_is_40100(api: Api, headers: dict[str, str]) -> None:
    response = await api.client.post(PHONE_INFO, json={"accountName": ACCOUNT, "wabaId": WABA_ID}, headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == 40100
    assert response.json()["data"] is None


async def test_an_unknown_key_is_40100_even_with_a_bad_body(api: Api) -> None:
    response = await api.post("phoneInfo", [], key="iwk_not-a-key")

    assert response.status_code == 401
    assert response.json() == {"code": 40100, "message": "unknown API key", "data": None}


async def test_acting_as_another_account_is_40300(api: Api) -> None:
    response = await api.post("bind", {"accountName": OTHER_ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": PHONE_ID})

    assert response.status_code == 403
    assert response.json()["code"] == 40300
    assert "accountName" in response.json()["message"]


async def test_a_disabled_accounts_key_is_40300_until_enabled(api: Api, container: Container) -> None:
    accounts = await container.accounts()
    body = {"accountName": ACCOUNT}

    await accounts.disable(ACCOUNT)
    disabled = await api.post("wabaInfo", body)
    await accounts.enable(ACCOUNT)
    enabled = await api.post("wabaInfo", body)

    assert disabled.status_code == 403
    assert disabled.json()["code"] == 40300
    assert enabled.json()["code"] == 0


async def test_a_rotated_key_stops_working_at_once(api: Api, container: Container) -> None:
    accounts = await container.accounts()
    old_key = api.keys[ACCOUNT]

    new_key = (await accounts.rotate_key(ACCOUNT)).api_key

    assert (await api.post("wabaInfo", {"accountName": ACCOUNT}, key=old_key)).json()["code"] == 40100
    assert (await api.post("wabaInfo", {"accountName": ACCOUNT}, key=new_key)).json()["code"] == 0
