"""The callback use cases over the in-memory store and a scripted sender."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from intwa.domain.callbacks.manage import DeleteCallback, PingCallback, SetCallback, ShowCallback
from intwa.domain.callbacks.models import DeliveryOutcome, DeliveryStats, LastDelivery
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.errors import AccountNotFound, CallbackNotSet, CallbackUrlNotAllowed, InvalidField
from tests.fakes.callbacks import Delivery, InMemoryCallbackStore, ScriptedSender
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage

ACCOUNT = "IW0001"
URL = "https://hooks.example.com/intwa"


@pytest.fixture
async def callbacks(storage: InMemoryStorage, clock: FakeClock) -> InMemoryCallbackStore:
    await storage.create_account(ACCOUNT, "hash", clock.now())
    return InMemoryCallbackStore(storage)


@pytest.fixture
def sender() -> ScriptedSender:
    return ScriptedSender(CallbackUrlRules())


@pytest.fixture
def set_callback(callbacks: InMemoryCallbackStore, sender: ScriptedSender, clock: FakeClock) -> SetCallback:
    return SetCallback(callbacks, sender, sender.rules, clock)


@pytest.fixture
def ping(callbacks: InMemoryCallbackStore, sender: ScriptedSender, clock: FakeClock) -> PingCallback:
    return PingCallback(callbacks, sender, clock)


async def test_the_first_setting_shows_the_new_secret_and_later_ones_do_not(set_callback: SetCallback) -> None:
    first = await set_callback(ACCOUNT, URL, ["waba.updated"])
    again = await set_callback(ACCOUNT, "https://hooks.example.com/v2")

    assert first.secret is not None
    assert first.secret == first.callback.secret
    assert first.callback.types == ("waba.updated", "test.ping")
    assert again.secret is None
    assert again.callback.secret == first.secret
    assert (again.callback.url, again.callback.types) == ("https://hooks.example.com/v2", None)


async def test_a_rotation_shows_the_new_secret_and_the_old_one_keeps_signing(
    set_callback: SetCallback, clock: FakeClock
) -> None:
    first = await set_callback(ACCOUNT, URL)
    clock.advance(60)

    rotated = await set_callback(ACCOUNT, URL, rotate_secret=True)

    assert rotated.secret is not None
    assert rotated.secret != first.secret
    assert rotated.callback.signing_secrets(clock.now()) == (rotated.secret, first.secret)


@pytest.mark.parametrize(
    ("url", "addresses", "refusal"),
    [
        ("http://hooks.example.com/intwa", None, CallbackUrlNotAllowed),
        ("https://10.0.0.7/intwa", None, CallbackUrlNotAllowed),
        ("https://internal.example.com/intwa", ["10.0.0.7"], CallbackUrlNotAllowed),
        ("https://split.example.com/intwa", ["93.184.215.14", "127.0.0.1"], CallbackUrlNotAllowed),
        ("https://gone.example.com/intwa", [], CallbackUrlNotAllowed),
        ("", None, InvalidField),
    ],
)
async def test_a_url_the_rules_refuse_is_not_stored(
    set_callback: SetCallback,
    sender: ScriptedSender,
    callbacks: InMemoryCallbackStore,
    url: str,
    addresses: list[str] | None,
    refusal: type[Exception],
) -> None:
    if addresses is not None:
        sender.addresses[url.split("/")[2]] = addresses

    with pytest.raises(refusal):
        await set_callback(ACCOUNT, url)

    assert callbacks.callbacks == {}


async def test_unknown_types_are_refused_before_the_url_is_looked_at(
    set_callback: SetCallback, callbacks: InMemoryCallbackStore
) -> None:
    with pytest.raises(InvalidField, match="`types`"):
        await set_callback(ACCOUNT, "http://127.0.0.1/", ["waba.created"])

    assert callbacks.callbacks == {}


async def test_a_callback_of_an_unknown_account_is_refused(set_callback: SetCallback) -> None:
    with pytest.raises(AccountNotFound):
        await set_callback("IW0404", URL)


async def test_show_answers_the_callback_and_its_deliveries_and_40400_without_one(
    set_callback: SetCallback, callbacks: InMemoryCallbackStore
) -> None:
    show = ShowCallback(callbacks)
    with pytest.raises(CallbackNotSet) as missing:
        await show(ACCOUNT)
    assert missing.value.code == 40400
    set_ = await set_callback(ACCOUNT, URL)
    attempted = datetime(2026, 11, 27, 9, 5, tzinfo=UTC)
    callbacks.deliveries.append(Delivery("evt_1", ACCOUNT, "pending", 2, attempted, 503, "the receiver answered 503"))

    report = await show(ACCOUNT)

    assert report.callback == set_.callback
    assert report.stats == DeliveryStats(1, 2, LastDelivery(attempted, 503, "the receiver answered 503"))


async def test_delete_answers_the_deleted_callback_and_40400_when_there_is_none(
    set_callback: SetCallback, callbacks: InMemoryCallbackStore
) -> None:
    delete = DeleteCallback(callbacks)
    set_ = await set_callback(ACCOUNT, URL)

    assert await delete(ACCOUNT) == set_.callback
    with pytest.raises(CallbackNotSet):
        await delete(ACCOUNT)


async def test_a_ping_is_sent_signed_with_every_signing_secret_and_changes_nothing(
    set_callback: SetCallback, ping: PingCallback, sender: ScriptedSender, callbacks: InMemoryCallbackStore
) -> None:
    first = await set_callback(ACCOUNT, URL)
    rotated = await set_callback(ACCOUNT, URL, rotate_secret=True)
    sender.outcome = DeliveryOutcome("gone", status=410, error="the receiver answered 410 Gone")

    report = await ping(ACCOUNT, "operator")

    assert report.outcome == sender.outcome
    [sent] = sender.sent
    assert (sent.url, sent.event_id) == (URL, report.event_id)
    assert sent.signing_secrets == (rotated.secret, first.secret)
    event = json.loads(sent.body)
    assert (event["id"], event["type"], event["data"]) == (
        report.event_id,
        "test.ping",
        {"accountName": ACCOUNT, "source": "operator"},
    )
    assert callbacks.callbacks[ACCOUNT] == rotated.callback  # still enabled: a ping's 410 disables nothing
    assert callbacks.deliveries == []


async def test_a_ping_to_a_host_that_now_points_inside_is_refused_and_not_sent(
    set_callback: SetCallback, ping: PingCallback, sender: ScriptedSender
) -> None:
    await set_callback(ACCOUNT, "https://rebinding.example.com/hook")
    sender.addresses["rebinding.example.com"] = ["10.0.0.7"]

    report = await ping(ACCOUNT, "request")

    assert report.outcome.result == "refused"
    assert sender.sent == []


async def test_a_ping_without_a_callback_is_40400(ping: PingCallback) -> None:
    with pytest.raises(CallbackNotSet):
        await ping(ACCOUNT, "request")
