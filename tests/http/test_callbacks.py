"""POST .../account/callbackSet, callbackInfo, callbackDelete, callbackTest (SPEC §3.10), to a real receiver.

This module opens the URL rules (`events.allow_http`, `events.allow_private_targets`) so that deliveries can
reach a receiver on 127.0.0.1; `test_callback_rules.py` runs them closed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from dependency_injector import providers

from intwa.container import Container
from tests.callback_receiver import Answer, Receiver, StubResolver, running_receiver, unused_port
from tests.http.conftest import ACCOUNT, OTHER_ACCOUNT, Api

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")
SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")
HOST = "receiver.test"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"EVENTS__ALLOW_HTTP": "true", "EVENTS__ALLOW_PRIVATE_TARGETS": "true", "EVENTS__TIMEOUT_SECONDS": "2"}


@pytest.fixture(autouse=True)
def resolver(container: Container) -> StubResolver:
    """Host names as this module says: `receiver.test` is the receiver's address, and so is `hooks.example.test`."""
    resolver = StubResolver()
    resolver.always(HOST, "127.0.0.1")
    resolver.always("hooks.example.test", "127.0.0.1")
    container.host_resolver.override(providers.Object(resolver))
    return resolver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


async def callback_set(api: Api, url: str, account: str = ACCOUNT, **extra: object) -> dict[str, object]:
    response = await api.post("callbackSet", {"accountName": account, "url": url, **extra}, account=account)
    body: dict[str, object] = response.json()
    assert response.status_code == 200, body
    return body


async def test_the_first_setting_answers_the_callback_with_its_secret_shown_once(api: Api) -> None:
    first = await callback_set(api, "https://hooks.example.test/intwa")
    again = await callback_set(api, "https://hooks.example.test/v2", types=["waba.updated", "waba.updated"])

    assert list(first) == ["code", "message", "data"]
    assert (first["code"], first["message"]) == (0, "Success")
    data = first["data"]
    assert isinstance(data, dict)
    assert list(data) == ["url", "types", "secret", "enabled", "createdAt", "previousSecretUntil"]
    assert (data["url"], data["types"], data["enabled"], data["previousSecretUntil"]) == (
        "https://hooks.example.test/intwa",
        None,
        True,
        None,
    )
    assert SECRET.fullmatch(str(data["secret"]))
    assert RFC3339_UTC.fullmatch(str(data["createdAt"]))
    assert again["data"] == {
        **data,
        "url": "https://hooks.example.test/v2",
        "types": ["waba.updated", "test.ping"],
        "secret": None,
    }


async def test_a_rotation_shows_a_new_secret_and_when_the_old_one_stops_signing(api: Api) -> None:
    first = (await callback_set(api, "https://hooks.example.test/intwa"))["data"]

    rotated = (await callback_set(api, "https://hooks.example.test/intwa", rotateSecret=True))["data"]

    assert isinstance(first, dict)
    assert isinstance(rotated, dict)
    assert SECRET.fullmatch(str(rotated["secret"]))
    assert rotated["secret"] != first["secret"]
    until = datetime.fromisoformat(str(rotated["previousSecretUntil"]))
    assert (
        timedelta(hours=23, minutes=59) < until - datetime.fromisoformat(str(first["createdAt"])) < timedelta(hours=25)
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"types": ["waba.updated", "waba.created"]},
            "`types` names an unknown event type `waba.created`; the types are",
        ),
        ({"types": "waba.updated"}, "`types` is invalid: Expected `array | null`, got `str`"),
        ({"rotateSecret": "yes"}, "`rotateSecret` is invalid: Expected `bool`, got `str`"),
        ({"url": ""}, "`url` must not be empty"),
        ({"url": 42}, "`url` is invalid: Expected `str`, got `int`"),
        ({"url": None}, "`url` is invalid: Expected `str`, got `null`"),
    ],
)
async def test_a_wrong_field_is_40000_naming_it(api: Api, body: dict[str, object], message: str) -> None:
    response = await api.post("callbackSet", {"accountName": ACCOUNT, "url": "https://hooks.example.test/", **body})

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert response.json()["message"].startswith(message)


async def test_a_setting_without_a_url_is_40000(api: Api) -> None:
    response = await api.post("callbackSet", {"accountName": ACCOUNT})

    assert response.json() == {"code": 40000, "message": "missing required field `url`", "data": None}


async def test_info_shows_the_callback_without_its_secret_and_its_deliveries(api: Api) -> None:
    data = (await callback_set(api, "https://hooks.example.test/intwa", types=["binding.created"]))["data"]
    assert isinstance(data, dict)

    response = await api.post("callbackInfo", {"accountName": ACCOUNT})

    assert response.status_code == 200
    assert response.json()["data"] == {
        "url": "https://hooks.example.test/intwa",
        "types": ["binding.created", "test.ping"],
        "enabled": True,
        "createdAt": data["createdAt"],
        "previousSecretUntil": None,
        "pending": 0,
        "failing": 0,
        "lastDelivery": None,
    }
    assert data["secret"] not in response.text


@pytest.mark.parametrize("endpoint", ["callbackInfo", "callbackDelete", "callbackTest"])
async def test_an_account_without_a_callback_is_40400(api: Api, endpoint: str) -> None:
    response = await api.post(endpoint, {"accountName": ACCOUNT})

    assert response.status_code == 404
    assert response.json() == {
        "code": 40400,
        "message": f"account `{ACCOUNT}` has no callback URL: set one with callbackSet",
        "data": None,
    }


async def test_delete_answers_the_deleted_callback_and_then_there_is_none(api: Api) -> None:
    data = (await callback_set(api, "https://hooks.example.test/intwa"))["data"]
    assert isinstance(data, dict)

    deleted = await api.post("callbackDelete", {"accountName": ACCOUNT})

    assert deleted.json() == {"code": 0, "message": "Success", "data": {**data, "secret": None}}
    assert (await api.post("callbackInfo", {"accountName": ACCOUNT})).json()["code"] == 40400
    assert (await api.post("callbackDelete", {"accountName": ACCOUNT})).json()["code"] == 40400


async def test_one_accounts_callback_is_not_another_accounts(api: Api) -> None:
    await callback_set(api, "https://hooks.example.test/intwa")

    other = await api.post("callbackInfo", {"accountName": OTHER_ACCOUNT}, account=OTHER_ACCOUNT)
    as_other = await api.post("callbackInfo", {"accountName": ACCOUNT}, account=OTHER_ACCOUNT)

    assert other.json()["code"] == 40400
    assert as_other.json()["code"] == 40300


async def test_a_test_ping_reaches_the_receiver_signed_with_the_secret_it_was_shown(
    api: Api, receiver: Receiver
) -> None:
    secret = (await callback_set(api, receiver.url(host=HOST)))["data"]["secret"]  # type: ignore[index]

    response = await api.post("callbackTest", {"accountName": ACCOUNT})

    assert response.status_code == 200
    data = response.json()["data"]
    assert list(data) == ["eventId", "delivered", "status", "error"]
    assert (data["delivered"], data["status"], data["error"]) == (True, 200, None)
    [received] = receiver.requests
    event = received.verified(secret)
    assert isinstance(event, dict)
    assert (event["id"], event["type"], event["data"]) == (
        data["eventId"],
        "test.ping",
        {"accountName": ACCOUNT, "source": "request"},
    )
    assert received.headers["webhook-id"] == data["eventId"]
    assert json.loads(received.body)["timestamp"].endswith("Z")


async def test_a_test_ping_during_a_rotation_verifies_with_either_secret(api: Api, receiver: Receiver) -> None:
    old = (await callback_set(api, receiver.url(host=HOST)))["data"]["secret"]  # type: ignore[index]
    new = (await callback_set(api, receiver.url(host=HOST), rotateSecret=True))["data"]["secret"]  # type: ignore[index]

    await api.post("callbackTest", {"accountName": ACCOUNT})

    [received] = receiver.requests
    assert received.verified(old) == received.verified(new)


@pytest.mark.parametrize(
    ("answer", "status", "error"),
    [
        (Answer(500), 500, "the receiver answered 500"),
        (Answer(503, {"Retry-After": "60"}), 503, "the receiver answered 503"),
        (Answer(410), 410, "the receiver answered 410 Gone"),
        (
            Answer(301, {"Location": "https://elsewhere.test/"}),
            301,
            "the receiver answered 301: redirects are not followed",
        ),
        (Answer(200, delay_seconds=5), None, "no answer within 2 s"),
    ],
)
async def test_a_test_ping_the_receiver_fails_is_answered_200_with_what_happened(
    api: Api, receiver: Receiver, answer: Answer, status: int | None, error: str
) -> None:
    await callback_set(api, receiver.url(host=HOST))
    receiver.answer = answer

    response = await api.post("callbackTest", {"accountName": ACCOUNT})

    assert response.status_code == 200
    assert response.json()["code"] == 0
    data = response.json()["data"]
    assert (data["delivered"], data["status"], data["error"]) == (False, status, error)
    info = (await api.post("callbackInfo", {"accountName": ACCOUNT})).json()["data"]
    assert info["enabled"] is True  # a test ping changes nothing, a 410 neither


async def test_a_test_ping_to_a_closed_port_says_connection_refused(api: Api) -> None:
    await callback_set(api, f"http://{HOST}:{unused_port()}/hook")

    response = await api.post("callbackTest", {"accountName": ACCOUNT})

    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["delivered"], data["status"], data["error"]) == (False, None, "connection refused")
