"""What setting, rotating and choosing types do to a callback; event ids; the test ping's JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from intwa.domain.callbacks.manage import chosen_types
from intwa.domain.callbacks.models import EVENT_TYPES, Callback, CallbackSetting
from intwa.domain.callbacks.ping import new_event_id, ping_event_body
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.errors import InvalidField

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
URL = "https://hooks.example.com/intwa"


def setting(url: str = URL, *, rotate: bool = False, at: datetime = T0) -> CallbackSetting:
    return CallbackSetting(url, None, rotate, WebhookSecret.generate(), at)


def test_a_first_setting_makes_an_enabled_callback_with_its_new_secret() -> None:
    first = setting()

    callback = first.applied_to("IW0001", None)

    assert callback == Callback("IW0001", URL, None, first.new_secret, True, T0)
    assert callback.signing_secrets(T0) == (first.new_secret,)


def test_setting_again_enables_a_disabled_callback_and_keeps_its_secret() -> None:
    stored = msgspec.structs.replace(setting().applied_to("IW0001", None), enabled=False)

    again = setting("https://new.example.com/", at=T0 + timedelta(days=3)).applied_to("IW0001", stored)

    assert (again.url, again.enabled, again.secret, again.created_at) == (
        "https://new.example.com/",
        True,
        stored.secret,
        T0,
    )


def test_after_a_rotation_the_old_secret_signs_too_for_24_hours() -> None:
    stored = setting().applied_to("IW0001", None)
    rotated_at = T0 + timedelta(days=1)
    rotation = setting(rotate=True, at=rotated_at)

    rotated = rotation.applied_to("IW0001", stored)

    assert rotated.secret == rotation.new_secret
    assert rotated.signing_secrets(rotated_at + timedelta(hours=23, minutes=59)) == (rotation.new_secret, stored.secret)
    assert rotated.previous_secret_signs_until(rotated_at) == rotated_at + timedelta(hours=24)
    assert rotated.signing_secrets(rotated_at + timedelta(hours=24)) == (rotation.new_secret,)
    assert rotated.previous_secret_signs_until(rotated_at + timedelta(hours=24)) is None


def test_a_second_rotation_within_the_day_keeps_only_the_secret_it_replaced_signing() -> None:
    stored = setting().applied_to("IW0001", None)
    once = setting(rotate=True, at=T0 + timedelta(hours=1)).applied_to("IW0001", stored)
    second = setting(rotate=True, at=T0 + timedelta(hours=2))

    twice = second.applied_to("IW0001", once)

    assert twice.signing_secrets(T0 + timedelta(hours=3)) == (second.new_secret, once.secret)


def test_a_callback_sends_its_types_and_always_the_test_ping() -> None:
    some = Callback("IW0001", URL, ("waba.updated", "test.ping"), WebhookSecret.generate(), True, T0)
    every = msgspec.structs.replace(some, types=None)

    assert some.sends("waba.updated")
    assert some.sends("test.ping")
    assert not some.sends("phone_number.updated")
    assert all(every.sends(event_type) for event_type in EVENT_TYPES)


def test_chosen_types_are_the_known_ones_asked_for_in_the_catalogues_order_with_the_test_ping() -> None:
    assert chosen_types(None) is None
    assert chosen_types(["waba.updated", "binding.created", "waba.updated"]) == (
        "waba.updated",
        "binding.created",
        "test.ping",
    )
    assert chosen_types([]) == ("test.ping",)
    assert chosen_types(list(EVENT_TYPES)) == EVENT_TYPES


def test_an_unknown_type_is_refused_naming_it_and_the_known_ones() -> None:
    with pytest.raises(InvalidField) as invalid:
        chosen_types(["waba.updated", "phone.updated"])

    assert invalid.value.code == 40000
    assert invalid.value.message.startswith("`types` names an unknown event type `phone.updated`; the types are ")
    assert "phone_number.updated" in invalid.value.message


def test_an_event_id_is_evt_and_26_characters_that_sort_by_time() -> None:
    ids = [new_event_id(T0 + timedelta(milliseconds=step)) for step in range(0, 5000, 7)]

    assert all(re.fullmatch(r"evt_[0-9A-HJKMNP-TV-Z]{26}", event_id) for event_id in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert new_event_id(T0) != new_event_id(T0)


def test_a_test_ping_is_an_event_about_the_account_and_no_waba() -> None:
    body = ping_event_body("evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA", "IW0001", T0 + timedelta(microseconds=5), "request")

    assert json.loads(body) == {
        "id": "evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA",
        "type": "test.ping",
        "timestamp": "2026-11-27T09:00:00.000005Z",
        "data": {"accountName": "IW0001", "source": "request"},
    }
