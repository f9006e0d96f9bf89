"""Test data with Meta's health verdicts: a number limited by its display name, a WABA blocked by its payment.

The shared test data of `tests/conftest.py`, enriched: the seed's fields unchanged, Meta's wording kept.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.conftest import FAKE_DATA, OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID

BUSINESS_ID = "506914307656634"
APP_ID = "634974688087057"
NAME_NOT_APPROVED = (
    "Your display name has not been approved yet. Your message limit will increase after the display name is approved."
)
PAYMENT_ERROR = {
    "error_code": 141006,
    "error_description": "There is an error with the payment method. This will block business initiated conversations.",
    "possible_solution": "There was an error with your payment method. Please add a new payment method to the account.",
}
PAYMENT_ISSUE = {
    "entityType": "WABA",
    "entityId": OTHER_WABA_ID,
    "canSendMessage": "BLOCKED",
    "errorCode": 141006,
    "description": PAYMENT_ERROR["error_description"],
    "possibleSolution": PAYMENT_ERROR["possible_solution"],
}


def health(verdict: str, waba_id: str, phone: dict[str, Any] | None = None, **waba: Any) -> dict[str, Any]:
    """Meta's `health_status`: the number's entity if given, the WABA's (AVAILABLE unless given), business, app."""
    entities = [
        {"entity_type": "WABA", "id": waba_id, "can_send_message": "AVAILABLE", **waba},
        {"entity_type": "BUSINESS", "id": BUSINESS_ID, "can_send_message": "AVAILABLE"},
        {"entity_type": "APP", "id": APP_ID, "can_send_message": "AVAILABLE"},
    ]
    if phone is not None:
        entities.insert(0, {"entity_type": "PHONE_NUMBER", **phone})
    return {"can_send_message": verdict, "entities": entities}


def data_with_health() -> dict[str, Any]:
    """The shared test data with Meta's verdicts: a number limited by its name, a WABA blocked by its payment."""
    data = copy.deepcopy(FAKE_DATA)
    tech, code = data["wabas"]
    tech.update(business_verification_status="verified", health_status=health("AVAILABLE", WABA_ID))
    first, second = tech["phone_numbers"]
    first.update(
        health_status=health("AVAILABLE", WABA_ID, {"id": PHONE_ID, "can_send_message": "AVAILABLE"}),
        name_status="APPROVED",
        code_verification_status="VERIFIED",
        platform_type="CLOUD_API",
        throughput={"level": "STANDARD"},
    )
    limited = {"id": SECOND_PHONE_ID, "can_send_message": "LIMITED", "additional_info": [NAME_NOT_APPROVED]}
    second.update(health_status=health("LIMITED", WABA_ID, limited), name_status="PENDING_REVIEW")
    blocked = {"can_send_message": "BLOCKED", "errors": [PAYMENT_ERROR]}
    code.update(business_verification_status="pending", health_status=health("BLOCKED", OTHER_WABA_ID, **blocked))
    available = {"id": OTHER_WABA_PHONE_ID, "can_send_message": "AVAILABLE"}
    code["phone_numbers"][0].update(
        health_status=health("BLOCKED", OTHER_WABA_ID, available, **blocked), platform_type="CLOUD_API"
    )
    return data


def write_data_with_health(folder: Path) -> Path:
    """`data_with_health()` as a fake data file in `folder`."""
    path = folder / "fake-data.json"
    path.write_text(json.dumps(data_with_health()), encoding="utf-8")
    return path
