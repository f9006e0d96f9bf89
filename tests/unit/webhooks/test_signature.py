"""That a webhook request comes from Meta: the signature of a post and the subscription handshake."""

from __future__ import annotations

import pytest

from intwa.domain.errors import WebhookSignatureInvalid, WebhookSignatureMissing, WebhookVerificationRefused
from intwa.domain.webhooks.signature import verify_signature, verify_subscription
from tests.webhook_examples import APP_SECRET, fixture_body, sign


def test_the_bodys_hmac_with_the_app_secret_is_accepted() -> None:
    body = fixture_body("account_review_update")

    verify_signature(APP_SECRET, body, sign(body))
    verify_signature(APP_SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_post_without_signature_is_refused_as_unsigned(header: str | None) -> None:
    with pytest.raises(WebhookSignatureMissing):
        verify_signature(APP_SECRET, b"{}", header)


@pytest.mark.parametrize(
    "header",
    [
        sign(b'{"object":"x"}'),
        sign(b"{}", "another-secret"),
        sign(b"{}").replace("sha256=", "sha1="),
        sign(b"{}").removeprefix("sha256="),
        sign(b"{}")[:-1],
        "sha256=",
        "sha256=é",
    ],
)
def test_a_signature_that_is_not_the_bodys_hmac_is_refused(header: str) -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature(APP_SECRET, b"{}", header)


def test_an_empty_app_secret_verifies_nothing() -> None:
    with pytest.raises(WebhookSignatureInvalid):
        verify_signature("", b"{}", sign(b"{}", ""))


def test_the_handshake_echoes_the_challenge_for_the_verify_token() -> None:
    assert verify_subscription("token", "subscribe", "token", "1158201444") == "1158201444"


@pytest.mark.parametrize(
    ("configured", "mode", "token", "challenge"),
    [
        ("token", "subscribe", "wrong", "1"),
        ("token", "unsubscribe", "token", "1"),
        ("token", "subscribe", None, "1"),
        ("token", "subscribe", "token", None),
        ("", "subscribe", "", "1"),
    ],
)
def test_the_handshake_is_refused_without_the_verify_token(
    configured: str, mode: str, token: str | None, challenge: str | None
) -> None:
    with pytest.raises(WebhookVerificationRefused):
        verify_subscription(configured, mode, token, challenge)
