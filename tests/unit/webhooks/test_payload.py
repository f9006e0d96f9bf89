"""Meta's webhook payload: documented payloads, odd shapes, and what identifies a change across deliveries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intwa.domain.errors import MalformedWebhook
from intwa.domain.webhooks.payload import decode_notification, fingerprint
from tests.webhook_examples import WEBHOOKS, fixture_body, notification


@pytest.mark.parametrize("path", sorted(WEBHOOKS.glob("*.json")), ids=lambda path: path.stem)
def test_every_documented_payload_decodes_to_one_change(path: Path) -> None:
    decoded = decode_notification(path.read_bytes())

    assert decoded.object == "whatsapp_business_account"
    fields = [change.field for entry in decoded.entry for change in entry.changes]
    assert len(fields) == 1
    assert path.stem.startswith(fields[0])
    assert decoded.entry[0].changes[0].value == json.loads(path.read_bytes())["entry"][0]["changes"][0]["value"]


def test_odd_shapes_are_left_out_and_the_rest_is_kept() -> None:
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "surprise": {"new": "key"},
            "entry": [
                "not an entry",
                {"id": 1234, "changes": [{"field": "account_review_update", "value": {}}]},
                {"id": "1", "time": "1739321024"},
                {"id": "2", "changes": "not a list"},
                {"id": "3", "changes": [{"field": "account_update"}, 7, {"field": "x", "value": "text", "extra": 1}]},
            ],
        }
    ).encode()

    decoded = decode_notification(body)

    assert [(entry.id, entry.time) for entry in decoded.entry] == [("1", 1739321024), ("2", None), ("3", None)]
    assert [(change.field, change.value) for change in decoded.entry[2].changes] == [
        ("account_update", None),
        ("x", "text"),
    ]


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"text"', b"null", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedWebhook):
        decode_notification(body)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"object": "\xff"}', "not valid UTF-8"),
        (b'{"ignored": "\xc3\x28", "entry": []}', "not valid UTF-8"),
        (b'{"entry": [{"changes": [{"value": ' + b"[" * 5000 + b"]" * 5000 + b"}]}]}", "nested too deeply"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"entry": 1, "x": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}", "nested too deeply"),
    ],
)
def test_a_body_msgspec_cannot_read_is_malformed_and_says_why(body: bytes, problem: str) -> None:
    with pytest.raises(MalformedWebhook, match=problem):
        decode_notification(body)


@pytest.mark.parametrize("body", [b"{}", b'{"object": "whatsapp_business_account", "entry": null}', b'{"entry": {}}'])
def test_a_notification_without_entries_has_none(body: bytes) -> None:
    assert decode_notification(body).entry == ()


def test_a_documented_changes_fingerprint_stays_what_earlier_releases_stored() -> None:
    """Stored fingerprints recognise redeliveries: another hash would record a redelivered change again."""
    decoded = decode_notification(fixture_body("business_capability_update"))

    assert (
        fingerprint(decoded.entry[0], decoded.entry[0].changes[0])
        == "9ffdfcd71ee789893fa28faf8fcf2b41176408357e25a425d35851eacae83e18"
    )


def test_a_redelivery_with_keys_in_another_order_has_the_same_fingerprint() -> None:
    value = {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SPAM", "tier": 1}}
    reordered = {"violation_info": {"tier": 1, "violation_type": "SPAM"}, "event": "ACCOUNT_VIOLATION"}
    first = decode_notification(notification("account_update", value))
    again = decode_notification(notification("account_update", reordered))
    later = decode_notification(notification("account_update", value, time=1739321025))

    fingerprints = [fingerprint(n.entry[0], n.entry[0].changes[0]) for n in (first, again, later)]
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
