"""A callback set and tested through a real `intwa serve`: the system's resolver, a real receiver, a real signature."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.callback_receiver import running_receiver
from tests.e2e.conftest import Deployment, graph_data

OPEN_RULES = "\n[events]\nallow_http = true\nallow_private_targets = true\n"


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path, graph_data(waba_count=1, phones_per_waba=1), extra_config=OPEN_RULES)
    try:
        deployment.start_server()
        yield deployment
    finally:
        deployment.stop()


def test_a_test_ping_through_the_server_reaches_the_receiver_signed(deployment: Deployment) -> None:
    key = deployment.cli("account", "create", "IW0001")["apiKey"]
    api = f"{deployment.url}/intwa-api/whatsapp/account"
    headers = {"Authorization": f"Bearer {key}"}

    with running_receiver() as receiver:
        url = receiver.url(host="localhost")  # resolved by the server's own resolver
        set_ = httpx.post(f"{api}/callbackSet", json={"accountName": "IW0001", "url": url}, headers=headers).json()
        tested = httpx.post(f"{api}/callbackTest", json={"accountName": "IW0001"}, headers=headers, timeout=30).json()

    assert set_["code"] == 0
    assert tested["data"]["delivered"] is True
    [received] = receiver.requests
    assert received.verified(set_["data"]["secret"])["id"] == tested["data"]["eventId"]  # type: ignore[index]
    assert deployment.cli("callback", "info", "IW0001")["url"] == url
