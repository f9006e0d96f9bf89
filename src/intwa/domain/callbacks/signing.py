"""Signing a callback delivery as the Standard Webhooks specification says (standardwebhooks.com, SPEC §3.10).

A receiver verifies a delivery with any Standard Webhooks library and the secret it was shown:
`webhook-signature` is `v1,` + base64 of the HMAC-SHA256, keyed with the secret's decoded bytes, of
`{webhook-id}.{webhook-timestamp}.{body}` — the exact bytes sent. During a rotation the old secret signs
too, and the header carries both signatures, space-separated; a receiver accepts either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix every secret shows, not a secret
SECRET_BYTES = 32
"""The random bytes of a new secret; the specification asks for 24 to 64."""

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"


class WebhookSecret:
    """A callback's signing secret: `whsec_` + base64 of its key. Its `repr` and `str` never show it.

    `reveal()` gives the text shown to the customer once; `key` the bytes that sign.
    """

    __slots__ = ("_key", "_text")

    def __init__(self, text: str) -> None:
        if not text.startswith(SECRET_PREFIX):
            raise ValueError(f"a webhook secret starts with {SECRET_PREFIX}")
        try:
            key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a webhook secret is whsec_ and base64") from None
        if not key:
            raise ValueError("a webhook secret may not be empty")
        self._text = text
        self._key = key

    @classmethod
    def generate(cls) -> WebhookSecret:
        """A new secret of `SECRET_BYTES` random bytes."""
        return cls(SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode())

    def reveal(self) -> str:
        return self._text

    @property
    def key(self) -> bytes:
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebhookSecret) and hmac.compare_digest(other._key, self._key)

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return "WebhookSecret('whsec_***')"

    __str__ = __repr__


def sign(secret: WebhookSecret, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `{message_id}.{timestamp}.{body}` with the secret's key."""
    if "." in message_id:
        raise ValueError("a webhook id must not contain '.': it would make the signed content ambiguous")
    content = b"%s.%d.%s" % (message_id.encode(), timestamp, body)
    return "v1," + base64.b64encode(hmac.new(secret.key, content, hashlib.sha256).digest()).decode()


def webhook_headers(
    message_id: str, timestamp: int, body: bytes, signing_secrets: Sequence[WebhookSecret]
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt: every secret's signature, space-separated."""
    if not signing_secrets:
        raise ValueError("a delivery is signed with at least one secret")
    signatures = " ".join(sign(secret, message_id, timestamp, body) for secret in signing_secrets)
    return {ID_HEADER: message_id, TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signatures}
