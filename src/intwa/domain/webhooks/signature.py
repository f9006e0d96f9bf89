"""That a webhook request comes from Meta: the signature of a post and the subscription handshake."""

from __future__ import annotations

import hashlib
import hmac

from intwa.domain.errors import WebhookSignatureInvalid, WebhookSignatureMissing, WebhookVerificationRefused

SIGNATURE_HEADER = "X-Hub-Signature-256"


def verify_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Raise unless `header` is `sha256=<hex>` of the HMAC-SHA256 of the raw `body` with the app secret.

    The digests are compared in constant time, so a forger learns nothing from how long a refusal takes.
    An empty app secret verifies nothing.
    """
    if header is None or not header.strip():
        raise WebhookSignatureMissing(f"missing `{SIGNATURE_HEADER}` header: webhook posts must be signed")
    scheme, _, digest = header.strip().partition("=")
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest().encode()
    given = digest.strip().lower().encode("utf-8", "replace")
    if not app_secret or scheme.lower() != "sha256" or not hmac.compare_digest(expected, given):
        raise WebhookSignatureInvalid(f"`{SIGNATURE_HEADER}` is not the signature of this body with the app secret")


def verify_subscription(verify_token: str, mode: str | None, token: str | None, challenge: str | None) -> str:
    """The challenge to echo when Meta's subscription handshake presents the verify token; raise otherwise."""
    presented = (token or "").encode("utf-8", "replace")
    matches = hmac.compare_digest(verify_token.encode(), presented)
    if not verify_token or mode != "subscribe" or challenge is None or not matches:
        raise WebhookVerificationRefused(
            "the webhook handshake needs `hub.mode=subscribe`, `hub.challenge` and the configured `hub.verify_token`"
        )
    return challenge
