"""Signed deliveries as Standard Webhooks specifies them, verified by the specification's own Python library."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from intwa.domain.callbacks.models import Callback, NewCallback
from intwa.domain.callbacks.signing import SECRET_PREFIX, WebhookSecret, sign, webhook_headers

# The specification's test vector (also Svix's).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BODY = b'{"id":"evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA","type":"test.ping","data":{"accountName":"IW0001"}}'
EVENT_ID = "evt_01JDX3V8Q6Z2Y7N4K9B5C1M0PA"


def test_the_specifications_test_vector_signs_as_published() -> None:
    signature = sign(WebhookSecret(VECTOR_SECRET), VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)

    assert signature == VECTOR_SIGNATURE
    library = Webhook(VECTOR_SECRET).sign(
        VECTOR_ID, datetime.fromtimestamp(VECTOR_TIMESTAMP, UTC), VECTOR_BODY.decode()
    )
    assert signature == library


def test_a_delivery_signed_now_verifies_with_the_standard_webhooks_library() -> None:
    secret = WebhookSecret.generate()
    headers = webhook_headers(EVENT_ID, int(time.time()), BODY, [secret])

    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-id"] == EVENT_ID
    assert Webhook(secret.reveal()).verify(BODY, headers) == {
        "id": EVENT_ID,
        "type": "test.ping",
        "data": {"accountName": "IW0001"},
    }


def test_a_changed_body_or_another_secret_does_not_verify() -> None:
    secret = WebhookSecret.generate()
    headers = webhook_headers(EVENT_ID, int(time.time()), BODY, [secret])

    with pytest.raises(WebhookVerificationError):
        Webhook(secret.reveal()).verify(BODY.replace(b"IW0001", b"IW0002"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(WebhookSecret.generate().reveal()).verify(BODY, headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies() -> None:
    new, old = WebhookSecret.generate(), WebhookSecret.generate()

    headers = webhook_headers(EVENT_ID, int(time.time()), BODY, [new, old])

    assert headers["webhook-signature"].count(" ") == 1
    assert all(part.startswith("v1,") for part in headers["webhook-signature"].split(" "))
    for secret in (new, old):
        Webhook(secret.reveal()).verify(BODY, headers)


def test_a_new_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    secrets = {WebhookSecret.generate().reveal() for _ in range(50)}

    assert len(secrets) == 50
    for text in secrets:
        assert text.startswith(SECRET_PREFIX)
        assert len(base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)) == 32


def test_a_secret_never_shows_in_repr_str_or_the_objects_that_hold_it() -> None:
    secret = WebhookSecret.generate()
    callback = Callback("IW0001", "https://hooks.example.com", None, secret, True, datetime.now(UTC), secret)
    key_text = secret.reveal().removeprefix(SECRET_PREFIX)

    for shown in (repr(secret), str(secret), f"{secret}", repr(callback), repr(NewCallback(callback, secret))):
        assert key_text not in shown
        assert "whsec_***" in shown


@pytest.mark.parametrize("text", ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_abc"])
def test_a_secret_that_is_not_whsec_and_base64_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="webhook secret"):
        WebhookSecret(text)


def test_an_id_with_a_dot_is_refused_as_it_would_make_the_signed_content_ambiguous() -> None:
    with pytest.raises(ValueError, match="must not contain"):
        sign(WebhookSecret.generate(), "evt.1", VECTOR_TIMESTAMP, BODY)


def test_a_delivery_is_signed_with_at_least_one_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        webhook_headers(EVENT_ID, VECTOR_TIMESTAMP, BODY, [])
