"""The callback URL rules as the API applies them, with the default settings: https, public addresses only.

Host names are answered by a scripted resolver; a receiver on 127.0.0.1 stands for an internal service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from intwa.container import Container
from tests.callback_receiver import Receiver, StubResolver, running_receiver
from tests.http.conftest import ACCOUNT, Api

PUBLIC = "93.184.215.14"


@pytest.fixture(autouse=True)
def resolver(container: Container) -> StubResolver:
    resolver = StubResolver()
    resolver.always("hooks.example.com", PUBLIC)
    resolver.always("internal.example.com", "10.0.0.5")
    resolver.always("split.example.com", PUBLIC, "169.254.169.254")
    container.host_resolver.override(providers.Object(resolver))
    return resolver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/intwa", "it must be an https:// URL"),
        ("https://127.0.0.1:8443/intwa", "127.0.0.1 is a loopback address"),
        ("https://[::ffff:192.168.1.10]/intwa", "::ffff:192.168.1.10 is a private address"),
        ("https://admin:hunter2@hooks.example.com/intwa", "it must not carry a user name or password"),
        (
            "https://internal.example.com/intwa",
            "its host internal.example.com must resolve to public internet addresses only",
        ),
        (
            "https://split.example.com/intwa",
            "its host split.example.com must resolve to public internet addresses only",
        ),
        (
            "https://nowhere.example.com/intwa",
            "its host nowhere.example.com must resolve to public internet addresses only",
        ),
    ],
)
async def test_a_url_the_rules_refuse_is_42206_and_nothing_is_set(api: Api, url: str, reason: str) -> None:
    response = await api.post("callbackSet", {"accountName": ACCOUNT, "url": url})

    assert response.status_code == 422
    assert response.json() == {"code": 42206, "message": f"`url` is not allowed: {reason}", "data": None}
    for hidden in ("10.0.0.5", "169.254.169.254", "hunter2"):
        assert hidden not in response.text
    assert (await api.post("callbackInfo", {"accountName": ACCOUNT})).json()["code"] == 40400


async def test_a_public_https_url_is_set(api: Api) -> None:
    response = await api.post("callbackSet", {"accountName": ACCOUNT, "url": "https://hooks.example.com/intwa"})

    assert response.json()["code"] == 0


async def test_a_host_rebound_to_an_internal_address_after_it_was_set_gets_no_test_ping(
    api: Api, resolver: StubResolver, receiver: Receiver
) -> None:
    resolver.answers["rebind.example.com"] = [[PUBLIC], ["127.0.0.1"]]
    url = f"https://rebind.example.com:{receiver.port}/hook"
    assert (await api.post("callbackSet", {"accountName": ACCOUNT, "url": url})).json()["code"] == 0

    response = await api.post("callbackTest", {"accountName": ACCOUNT})

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["delivered"], data["status"]) == (False, None)
    assert data["error"] == (
        "`url` is not allowed: its host rebind.example.com must resolve to public internet addresses only"
    )
    assert receiver.requests == []
