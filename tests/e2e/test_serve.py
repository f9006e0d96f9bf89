"""`intwa serve` as a real process against a fake Graph server: bind, query, race, crash."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

import httpx

from tests.conftest import waba_info_item
from tests.e2e.conftest import PAYMENT_ISSUE, Deployment

WABA = "100000000"
PHONE = "200000000000"


def _bind_body(account: str, waba_id: str, phone_id: str) -> dict[str, str]:
    return {"accountName": account, "wabaId": waba_id, "phoneNumberId": phone_id}


def test_a_bound_number_is_answered_from_meta_through_the_real_server(deployment: Deployment) -> None:
    key = deployment.cli("account", "create", "IW0001")["apiKey"]
    headers = {"Authorization": f"Bearer {key}"}
    api = f"{deployment.url}/intwa-api/whatsapp/account"

    bound = httpx.post(f"{api}/bind", json=_bind_body("IW0001", WABA, PHONE), headers=headers).json()
    phones = httpx.post(f"{api}/phoneInfo", json={"accountName": "IW0001", "wabaId": WABA}, headers=headers).json()
    wabas = httpx.post(f"{api}/wabaInfo", json={"accountName": "IW0001"}, headers=headers).json()

    assert bound["code"] == 0
    assert bound["data"]["phoneNumber"] == "6285200000000"
    assert [phone["id"] for phone in phones["data"]] == [PHONE, "200000000001"]
    assert phones["data"][0]["messageLimit"] == "TIER_1K"
    # Meta's verdict through the real fake Graph: WABA 0 is blocked by its payment method, and so its numbers.
    assert (phones["data"][0]["canSendMessage"], phones["data"][0]["nameStatus"]) == ("BLOCKED", "APPROVED")
    assert phones["data"][0]["healthIssues"] == [PAYMENT_ISSUE]
    assert wabas["data"] == [
        waba_info_item(WABA, "WABA 0", "APPROVED", canSendMessage="BLOCKED", healthIssues=[PAYMENT_ISSUE])
    ]
    assert deployment.cli("bindings", "IW0001")[0]["phoneNumberId"] == PHONE


def test_ten_racing_binds_of_one_number_have_exactly_one_winner(deployment: Deployment) -> None:
    keys = {f"IW{n:04d}": deployment.cli("account", "create", f"IW{n:04d}")["apiKey"] for n in range(10)}

    async def race() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=deployment.url, timeout=30) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        "/intwa-api/whatsapp/account/bind",
                        json=_bind_body(account, WABA, PHONE),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    for account, key in keys.items()
                )
            )
        return [response.json() for response in responses]

    codes = sorted(body["code"] for body in asyncio.run(race()))

    assert codes == [0] + [40901] * 9
    assert len(deployment.cli("bindings")) == 1


def test_every_acknowledged_bind_survives_kill_9(deployment: Deployment) -> None:
    key = deployment.cli("account", "create", "IW0001")["apiKey"]
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream_binds() -> None:
        with httpx.Client(base_url=deployment.url, timeout=5) as client:
            for w in range(120):
                if stop.is_set():
                    return
                waba_id, phone_id = f"1000{w:05d}", f"2000{w:05d}000"
                try:
                    response = client.post(
                        "/intwa-api/whatsapp/account/bind",
                        json=_bind_body("IW0001", waba_id, phone_id),
                        headers={"Authorization": f"Bearer {key}"},
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200 and response.json()["code"] == 0:
                    acknowledged.append(phone_id)

    writer = threading.Thread(target=stream_binds)
    writer.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 15 and time.monotonic() < deadline:
        time.sleep(0.01)
    deployment.kill_server()
    stop.set()
    writer.join(timeout=30)

    deployment.start_server()
    stored = {binding["phoneNumberId"] for binding in deployment.cli("bindings", "IW0001")}

    assert len(acknowledged) >= 15
    assert set(acknowledged) <= stored
    with sqlite3.connect(deployment.database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
