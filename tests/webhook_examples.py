"""Meta's documented webhook payloads, the WABA they name, and posts signed and built as Meta sends them."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time as clock
from pathlib import Path
from typing import Any

from tests.conftest import FAKE_DATA, GRAPH_FIXTURES

WEBHOOKS = GRAPH_FIXTURES / "webhooks"
APP_SECRET = "test-app-secret"

# The WABA and phone number of Meta's documented webhook payloads, added to the fake data.
META_WABA_ID = "102290129340398"
META_PHONE_ID = "106540352242922"
META_PARTNER_BUSINESS_ID = "2949482758682047"
META_WABA: dict[str, Any] = {
    "id": META_WABA_ID,
    "name": "Lucky Shrub",
    "account_review_status": "PENDING",
    "phone_numbers": [
        {
            "id": META_PHONE_ID,
            "display_phone_number": "+1 631-555-5555",
            "verified_name": "Lucky Shrub",
            "status": "CONNECTED",
            "quality_rating": "GREEN",
            "whatsapp_business_manager_messaging_limit": "TIER_1K",
        }
    ],
}


def fake_data_with_meta_waba() -> dict[str, Any]:
    data = copy.deepcopy(FAKE_DATA)
    data["wabas"].append(copy.deepcopy(META_WABA))
    return data


def fixture_body(name: str) -> bytes:
    """A documented webhook payload, byte for byte as stored."""
    return (WEBHOOKS / f"{name}.json").read_bytes()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(field: str, value: Any, *, entry_id: str = META_WABA_ID, time: int | None = None) -> bytes:
    """A post of one change, at `time` (POSIX seconds; by default now, as Meta sends a change as it happens)."""
    change = {"field": field, "value": value}
    at = int(clock.time()) if time is None else time
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": entry_id, "time": at, "changes": [change]}]}
    ).encode()


def restamped(body: bytes, time: int | None = None) -> bytes:
    """A documented payload with every entry's `time` set to `time` (by default now): sent as the change happens."""
    document = json.loads(body)
    for entry in document["entry"]:
        entry["time"] = int(clock.time()) if time is None else time
    return json.dumps(document).encode()


def write_fake_data_with_meta_waba(folder: Path) -> Path:
    """`fake_data_with_meta_waba()` written as a fake data file in `folder`."""
    path = folder / "fake-data.json"
    path.write_text(json.dumps(fake_data_with_meta_waba()), encoding="utf-8")
    return path
