"""`server.rate_limit_per_minute` (SPEC §3.8 `42900`, §5): per authenticated account, before the body is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intwa.container import Container
from tests.conftest import WABA_ID
from tests.fakes.clock import FakeClock
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api
from tests.webhook_examples import APP_SECRET, sign

LIMIT = 3


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()  # 09:00:00, the start of a minute


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"SERVER__RATE_LIMIT_PER_MINUTE": str(LIMIT), "WEBHOOK__APP_SECRET": APP_SECRET}


async def _waba_info(api: Api, account: str = ACCOUNT) -> int:
    response = await api.post("wabaInfo", {"accountName": account}, account=account)
    code: int = response.json()["code"]
    return code


async def test_the_request_after_the_limit_is_42900_with_retry_after(
    api: Api, clock: FakeClock, tmp_path: Path
) -> None:
    codes = [await _waba_info(api) for _ in range(LIMIT)]
    clock.advance(15)

    refused = await api.post("wabaInfo", {"accountName": ACCOUNT})

    assert codes == [0] * LIMIT
    assert (tmp_path / "var" / "intwa.db-ratelimit.db").exists()  # counted where every worker counts
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "45"
    assert refused.json() == {
        "code": 42900,
        "message": f"account `{ACCOUNT}` sent more than {LIMIT} requests this minute; retry in 45 s",
        "data": None,
    }


async def test_the_limit_counts_every_endpoint_and_comes_before_the_body(api: Api) -> None:
    await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})
    await api.post("unbind", {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": "1"})
    await api.post("wabaInfo", {"accountName": ACCOUNT})

    refused = await api.post("bind", [])  # an invalid body: 40000 had it been read

    assert refused.json()["code"] == 42900


async def test_another_account_is_not_affected(api: Api) -> None:
    for _ in range(LIMIT + 2):
        await _waba_info(api)

    assert [await _waba_info(api, OTHER_ACCOUNT) for _ in range(LIMIT)] == [0] * LIMIT
    assert await _waba_info(api) == 42900


async def test_the_next_minute_admits_the_account_again(api: Api, clock: FakeClock) -> None:
    for _ in range(LIMIT + 1):
        await _waba_info(api)

    clock.advance(60)

    assert await _waba_info(api) == 0


async def test_unauthenticated_and_forbidden_requests_are_not_counted(api: Api, container: Container) -> None:
    for _ in range(2 * LIMIT):
        assert (await api.post("wabaInfo", {"accountName": ACCOUNT}, key="iwk_unknown")).json()["code"] == 40100
        response = await api.client.post("/intwa-api/whatsapp/account/wabaInfo", json={"accountName": ACCOUNT})
        assert response.json()["code"] == 40100
    accounts = await container.accounts()
    await accounts.disable(ACCOUNT)
    forbidden = [await _waba_info(api) for _ in range(2 * LIMIT)]
    await accounts.enable(ACCOUNT)

    assert forbidden == [40300] * 2 * LIMIT
    assert [await _waba_info(api) for _ in range(LIMIT)] == [0] * LIMIT


async def test_webhooks_and_probes_are_not_limited(api: Api) -> None:
    for _ in range(LIMIT + 1):
        await _waba_info(api)
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()

    webhooks = [
        await api.client.post(
            "/intwa-api/whatsapp/webhook",
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
        )
        for _ in range(2 * LIMIT)
    ]
    probes = [(await api.client.get(path)).status_code for path in ("/healthz", "/readyz") * LIMIT * 2]

    assert [response.json()["code"] for response in webhooks] == [0] * 2 * LIMIT
    assert set(probes) == {200}


@pytest.mark.parametrize("settings_overrides", [{}])
async def test_a_limit_of_zero_admits_everything_and_opens_no_counter_file(api: Api, tmp_path: Path) -> None:
    codes = [await _waba_info(api) for _ in range(4 * LIMIT)]

    assert codes == [0] * 4 * LIMIT
    assert (tmp_path / "var" / "intwa.db").exists()
    assert not (tmp_path / "var" / "intwa.db-ratelimit.db").exists()
