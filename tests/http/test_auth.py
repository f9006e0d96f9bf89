"""Bearer keys and the accountName check (SPEC §3.1, §3.8: 40100, 40300)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from intwa.container import MEMORY_MAX_AGE_SECONDS, Container, build_container
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
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


@pytest.mark.parametrize("clock", [FakeClock()])
async def test_a_key_kept_by_a_rotation_works_until_its_end_then_is_answered_as_an_unknown_key(
    api: Api, container: Container, clock: FakeClock
) -> None:
    accounts = await container.accounts()
    old_key = api.keys[ACCOUNT]
    body = {"accountName": ACCOUNT}

    new_key = (await accounts.rotate_key(ACCOUNT, keep_old_for=timedelta(hours=24))).api_key

    assert (await api.post("wabaInfo", body, key=old_key)).json()["code"] == 0  # and now remembered in memory
    assert (await api.post("wabaInfo", body, key=new_key)).json()["code"] == 0
    clock.advance(24 * 3600)
    expired = await api.post("wabaInfo", body, key=old_key)
    assert expired.status_code == 401
    assert expired.json() == (await api.post("wabaInfo", body, key="iwk_never-issued")).json()
    assert (await api.post("wabaInfo", body, key=new_key)).json()["code"] == 0


async def test_a_plain_rotation_by_another_process_stops_the_old_key_within_a_second(
    api: Api, container: Container
) -> None:
    old_key = api.keys[ACCOUNT]
    body = {"accountName": ACCOUNT}
    assert (await api.post("wabaInfo", body, key=old_key)).json()["code"] == 0  # remembered for up to a second
    operator = build_container(container.settings())  # `intwa account rotate-key` on the same database
    try:
        await (await operator.accounts()).rotate_key(ACCOUNT)
    finally:
        await operator.shutdown_resources()

    await asyncio.sleep(MEMORY_MAX_AGE_SECONDS + 0.05)

    assert (await api.post("wabaInfo", body, key=old_key)).json()["code"] == 40100
