"""Real, published management webhooks read by the decoder: every entry, field, event, WABA and phone kept."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest

from intwa.domain.webhooks.payload import (
    AccountNotice,
    PhoneNumberNotice,
    ReviewDecision,
    WebhookNotification,
    decode_notification,
    fingerprint,
)
from tests.meta_webhooks import load, names, waba_ids

DOC_WABA = "102290129340398"  # the WABA of Meta's reference examples
PARTNER = "2949482758682047"  # the solution partner's business: `entry[].id` of partner events
LEGACY_WABA = "whatsapp-business-account-id"  # Bindambc's placeholder ids, kept as published
LEGACY_WABA_SHORT = "waba-id"


class Expected(NamedTuple):
    entry_id: str
    time: int
    field: str
    waba_id: str
    event: str | None = None
    """`account_update`: the event; the other fields are not read as account notices."""
    partner_waba_id: str | None = None
    """`account_update`: `value.waba_info.waba_id`, or `None` when the value has no `waba_info`."""
    display_phone_number: str | None = None
    decision: str | None = None


EXPECTED: dict[str, Expected] = {
    "account_alerts_capabilities_deferred": Expected(DOC_WABA, 1745612159, "account_alerts", DOC_WABA),
    "account_review_update_approved": Expected(
        DOC_WABA, 1739321024, "account_review_update", DOC_WABA, decision="APPROVED"
    ),
    "account_update_account_deleted": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="ACCOUNT_DELETED"
    ),
    "account_update_account_disabled": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="DISABLED_UPDATE"
    ),
    "account_update_account_offboarded": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="ACCOUNT_OFFBOARDED"
    ),
    "account_update_account_reconnected": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="ACCOUNT_RECONNECTED"
    ),
    "account_update_account_restriction": Expected(
        DOC_WABA, 1641330498, "account_update", DOC_WABA, event="ACCOUNT_RESTRICTION"
    ),
    "account_update_account_violation": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="ACCOUNT_VIOLATION"
    ),
    "account_update_ad_account_linked": Expected(
        PARTNER, 1744823932, "account_update", "980198427658004", "AD_ACCOUNT_LINKED", "980198427658004"
    ),
    "account_update_authentication_international_eligibility": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="AUTH_INTL_PRICE_ELIGIBILITY_UPDATE"
    ),
    "account_update_disabled_schedule_for_disable": Expected(
        LEGACY_WABA, 1604703058, "account_update", LEGACY_WABA, event="DISABLED_UPDATE"
    ),
    "account_update_mm_api_for_wa_terms_of_service": Expected(
        PARTNER, 1744823932, "account_update", "980198427658004", "MM_LITE_TERMS_SIGNED", "980198427658004"
    ),
    "account_update_partner_added": Expected(
        PARTNER, 1744823932, "account_update", "980198427658004", "PARTNER_ADDED", "980198427658004"
    ),
    "account_update_partner_app_installed": Expected(
        PARTNER, 1745337174, "account_update", "1191624265890717", "PARTNER_APP_INSTALLED", "1191624265890717"
    ),
    "account_update_partner_app_uninstalled": Expected(
        PARTNER, 1748477359, "account_update", "184943124712545", "PARTNER_APP_UNINSTALLED", "184943124712545"
    ),
    "account_update_partner_led_business_verification_status": Expected(
        DOC_WABA, 1743138982, "account_update", DOC_WABA, event="PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE"
    ),
    "account_update_partner_removed": Expected(
        PARTNER, 1748477359, "account_update", "980198427658004", "PARTNER_REMOVED", "980198427658004"
    ),
    "account_update_partner_removed_wa_app_disconnection": Expected(
        PARTNER, 1748477359, "account_update", "980198427658004", "PARTNER_REMOVED", "980198427658004"
    ),
    "account_update_pricing_tiering_update": Expected(
        DOC_WABA, 1743451903, "account_update", DOC_WABA, event="VOLUME_BASED_PRICING_TIER_UPDATE"
    ),
    "account_update_primary_business_location_set": Expected(
        DOC_WABA, 1743138982, "account_update", DOC_WABA, event="BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE"
    ),
    "account_update_restriction_legacy": Expected(
        LEGACY_WABA, 1604703141, "account_update", LEGACY_WABA, event="ACCOUNT_RESTRICTION"
    ),
    "account_update_verified_account_legacy": Expected(
        LEGACY_WABA, 1604703058, "account_update", LEGACY_WABA, event="VERIFIED_ACCOUNT"
    ),
    "business_capability_update": Expected(
        "524126980791429", 1739321024, "business_capability_update", "524126980791429"
    ),
    "phone_number_name_update_approved": Expected(
        LEGACY_WABA_SHORT,
        1608243053,
        "phone_number_name_update",
        LEGACY_WABA_SHORT,
        display_phone_number="16505551111",
        decision="APPROVED",
    ),
    "phone_number_quality_update_flagged_legacy": Expected(
        LEGACY_WABA_SHORT,
        1608243062,
        "phone_number_quality_update",
        LEGACY_WABA_SHORT,
        display_phone_number="16505551111",
    ),
    "phone_number_quality_update_synthetic_limit_change": Expected(
        DOC_WABA, 1739321024, "phone_number_quality_update", DOC_WABA, display_phone_number="15550783881"
    ),
    "phone_number_quality_update_throughput_upgrade": Expected(
        DOC_WABA, 1748454394, "phone_number_quality_update", DOC_WABA, display_phone_number="15550783881"
    ),
}

ACCOUNT_UPDATES = sorted(name for name, expected in EXPECTED.items() if expected.field == "account_update")
PHONE_NUMBER_UPDATES = sorted(name for name, expected in EXPECTED.items() if expected.display_phone_number)
DECISIONS = sorted(name for name, expected in EXPECTED.items() if expected.decision)


def decoded(name: str) -> WebhookNotification:
    return decode_notification(load(name))


def test_every_fixture_has_its_expectations() -> None:
    assert set(names()) == set(EXPECTED)
    assert len(names()) == 27


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_envelope_is_read_whole(name: str) -> None:
    expected = EXPECTED[name]
    notification = decoded(name)
    published = json.loads(load(name))

    assert notification.object == "whatsapp_business_account"
    assert [(entry.id, entry.time) for entry in notification.entry] == [(expected.entry_id, expected.time)]
    assert [change.field for entry in notification.entry for change in entry.changes] == [expected.field]
    assert notification.entry[0].changes[0].value == published["entry"][0]["changes"][0]["value"]
    assert waba_ids(name) == (expected.waba_id,)


@pytest.mark.parametrize("name", ACCOUNT_UPDATES)
def test_an_account_update_names_its_event_and_waba(name: str) -> None:
    expected = EXPECTED[name]
    entry = decoded(name).entry[0]

    notice = entry.changes[0].value_as(AccountNotice)

    assert notice is not None
    assert notice.event == expected.event
    partner_waba_id = notice.waba_info.waba_id if notice.waba_info is not None else None
    assert partner_waba_id == expected.partner_waba_id
    assert (partner_waba_id or entry.id) == expected.waba_id


@pytest.mark.parametrize("name", PHONE_NUMBER_UPDATES)
def test_a_quality_or_name_update_names_the_display_phone_number(name: str) -> None:
    notice = decoded(name).entry[0].changes[0].value_as(PhoneNumberNotice)

    assert notice is not None
    assert notice.display_phone_number == EXPECTED[name].display_phone_number


@pytest.mark.parametrize("name", DECISIONS)
def test_a_review_or_name_update_carries_its_decision(name: str) -> None:
    decision = decoded(name).entry[0].changes[0].value_as(ReviewDecision)

    assert decision is not None
    assert decision.decision == EXPECTED[name].decision


@pytest.mark.parametrize(
    ("name", "key", "published"),
    [
        (
            "account_update_disabled_schedule_for_disable",
            "ban_info",
            {"waba_ban_state": "SCHEDULE_FOR_DISABLE", "waba_ban_date": "January 31, 2021"},
        ),
        (
            "account_update_account_disabled",
            "ban_info",
            {"waba_ban_state": "REINSTATE", "waba_ban_date": "April 17, 2025"},
        ),
        ("account_update_account_violation", "violation_info", {"violation_type": "ADULT"}),
        (
            "account_update_account_restriction",
            "restriction_info",
            [
                {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1641330498},
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1641330498},
            ],
        ),
        (
            "account_update_restriction_legacy",
            "restriction_info",
            [
                {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1641330498},
                {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1641330498},
                {"restriction_type": "RESTRICTED_CUSTOMER_INITIATED_MESSAGING", "expiration": 1641330498},
            ],
        ),
        (
            "account_update_partner_removed_wa_app_disconnection",
            "disconnection_info",
            {"reason": "PRIMARY_INACTIVITY", "initiated_by": "SYSTEM"},
        ),
        (
            "account_update_partner_app_uninstalled",
            "waba_info",
            {
                "waba_id": "184943124712545",
                "owner_business_id": "1284923862322270",
                "partner_app_id": "869361281603019",
            },
        ),
        (
            "account_alerts_capabilities_deferred",
            "alert_info",
            {
                "alert_severity": "WARNING",
                "alert_status": "ACTIVE",
                "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
                "alert_description": "Limits cannot be increased for your business <BUSINESS_PORTFOLIO_NAME>. "
                "Use WhatsApp Business platform actively for several days and follow our messaging policies.",
            },
        ),
        (
            "business_capability_update",
            "max_daily_conversations_per_business",
            2000,
        ),
        ("phone_number_quality_update_synthetic_limit_change", "old_limit", "TIER_2K"),
        ("phone_number_quality_update_synthetic_limit_change", "max_daily_conversations_per_business", "TIER_10K"),
    ],
)
def test_the_details_meta_sent_are_kept_as_sent(name: str, key: str, published: Any) -> None:
    value = decoded(name).entry[0].changes[0].value

    assert value[key] == published


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_fixture_has_the_same_fingerprint_each_time_it_is_read(name: str) -> None:
    first, again = decoded(name), decoded(name)

    assert fingerprint(first.entry[0], first.entry[0].changes[0]) == fingerprint(
        again.entry[0], again.entry[0].changes[0]
    )


def test_every_fixture_has_a_fingerprint_of_its_own() -> None:
    fingerprints = {
        name: fingerprint(entry, change)
        for name in names()
        for entry in decoded(name).entry
        for change in entry.changes
    }

    assert len(set(fingerprints.values())) == len(fingerprints) == len(EXPECTED)


def test_a_fixture_that_does_not_exist_is_refused() -> None:
    with pytest.raises(KeyError, match="no_such_payload"):
        load("no_such_payload")
