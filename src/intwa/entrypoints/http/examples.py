"""Whole answers for the OpenAPI document, made by the code that makes the real ones: they cannot drift from it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar.openapi.spec import Example

from intwa.domain.events import account_update_event, issue, snapshot_events
from intwa.domain.history import changes_between
from intwa.domain.models import PhoneNumber, Waba, WabaSnapshot, WebhookEvent

_WABA = "278990000057661"
_AT = datetime(2026, 11, 27, 9, 5, 33, 915734, tzinfo=UTC)
_IDS = ("evt_01M8E41EPV21PAHF04GANH11AT", "evt_01M8E4DK0B7QXW3ZJ9V5R2CE6N")
_RESTRICTION = {
    "event": "ACCOUNT_RESTRICTION",
    "restriction_info": [{"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1764322230}],
}


def event_feed_examples() -> list[Example]:
    """A page of the feed: a number whose quality rating dropped, found by the sync, then Meta restricting the WABA."""
    phone = PhoneNumber(
        "267300000093634",
        "+62 852-1234-0016",
        "TIG Tech",
        "CONNECTED",
        "GREEN",
        "TIER_250",
        can_send_message="AVAILABLE",
        name_status="APPROVED",
        code_verification_status="VERIFIED",
        platform_type="CLOUD_API",
        throughput_level="STANDARD",
    )
    waba = Waba(_WABA, "PT TIG TECH", "APPROVED", can_send_message="AVAILABLE")
    before = WabaSnapshot(waba, (phone,), fetched_at=_AT - timedelta(minutes=15))
    dropped = msgspec.structs.replace(phone, quality_rating="YELLOW", status="FLAGGED")
    after = msgspec.structs.replace(before, phone_numbers=(dropped,), fetched_at=_AT)
    changes = changes_between(before, after, at=_AT, source="sync")
    restricted = WebhookEvent(
        _AT + timedelta(minutes=2), _WABA, _WABA, "account_update", "ACCOUNT_RESTRICTION", json.dumps(_RESTRICTION), ""
    )
    ids = iter(_IDS)
    events = [
        *issue(
            snapshot_events("IW0001", before, after, changes), first_sequence=41, now=_AT, new_id=lambda _: next(ids)
        ),
        *issue(
            [draft for draft in [account_update_event("IW0001", restricted)] if draft is not None],
            first_sequence=42,
            now=restricted.received_at,
            new_id=lambda _: next(ids),
        ),
    ]
    page = {"events": [json.loads(event.document) for event in events], "next": events[-1].id}
    value: dict[str, Any] = {"code": 0, "message": "Success", "data": page}
    return [Example(summary="A number flagged by the sync, then Meta restricting its WABA", value=value)]
