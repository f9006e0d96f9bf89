"""The Graph adapter reads Meta's health verdict and the number's state from Meta's documented payloads (SPEC §3.4).

The single-node examples of Meta's health-status page are served as an item of the phone numbers listing:
intwa reads `health_status` there, together with the other fields, never with a call of its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from intwa.adapters.provider.graph import GraphProvider
from intwa.domain.models import HealthIssue, PhoneNumber, Waba
from tests.adapters.provider.graph_doubles import (
    PHONES_PATH,
    WABA_ID,
    WABA_PATH,
    ScriptedGraph,
    graph_fixture,
    respond,
)

META_PHONE_ID = "106540352242922"
META_BUSINESS_ID = "506914307656634"
META_APP_ID = "634974688087057"
NAME_NOT_APPROVED = (
    "Your display name has not been approved yet. Your message limit will increase after the display name is approved."
)
PAYMENT_ISSUE = HealthIssue(
    entity_type="WABA",
    entity_id=WABA_ID,
    can_send_message="BLOCKED",
    error_code=141006,
    description="There is an error with the payment method. This will block business initiated conversations.",
    possible_solution="There was an error with your payment method. Please add a new payment method to the account.",
)


def listed(node: dict[str, Any]) -> dict[str, Any]:
    """A phone numbers page holding the node, as the listing intwa calls would answer it."""
    return {"data": [{"display_phone_number": "+1 555-0100", **node}]}


async def only_phone(graph: ScriptedGraph, provider: GraphProvider, node: dict[str, Any]) -> PhoneNumber:
    graph.answer(PHONES_PATH, respond(200, listed(node)))
    (phone,) = await provider.fetch_phone_numbers(WABA_ID)
    return phone


async def test_metas_available_example_reads_available_without_issues(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    phone = await only_phone(graph, provider, json.loads(graph_fixture("phone_number_health_available.json")))

    assert (phone.can_send_message, phone.health_issues) == ("AVAILABLE", ())


async def test_metas_limited_example_reads_one_issue_per_line_of_additional_info(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    phone = await only_phone(graph, provider, json.loads(graph_fixture("phone_number_health_limited.json")))

    assert phone.can_send_message == "LIMITED"
    assert phone.health_issues == (HealthIssue("PHONE_NUMBER", META_PHONE_ID, "LIMITED", None, NAME_NOT_APPROVED),)
    assert phone.health_issues[0].possible_solution is None


async def test_metas_sip_example_keeps_metas_blocked_verdict_and_lists_no_messaging_issue(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    # Meta's own example: every entity can send messages, only SIP calls are blocked, and the overall verdict
    # says BLOCKED. intwa passes Meta's verdict on; the SIP errors are calling's, not messaging's.
    phone = await only_phone(graph, provider, json.loads(graph_fixture("phone_number_health_blocked_sip.json")))

    assert phone.can_send_message == "BLOCKED"
    assert phone.health_issues == ()


async def test_a_blocked_waba_reads_metas_error_code_description_and_fix(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba_health_blocked.json")))

    waba = await provider.fetch_waba(WABA_ID)

    assert waba == Waba(
        id=WABA_ID,
        name="Jasper's Market",
        review_status="APPROVED",
        can_send_message="BLOCKED",
        health_issues=(PAYMENT_ISSUE,),
        business_verification_status="verified",
    )


async def test_the_phone_numbers_listing_brings_every_field_of_each_number(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    graph.answer(PHONES_PATH, respond(200, graph_fixture("phone_numbers_health.json")))

    phones = await provider.fetch_phone_numbers(WABA_ID)

    assert phones == [
        PhoneNumber(
            id="1906385232743451",
            display_phone_number="+1 631-555-5555",
            verified_name="Jasper's Market",
            status="CONNECTED",
            quality_rating="GREEN",
            messaging_limit="TIER_2K",
            can_send_message="BLOCKED",
            health_issues=(PAYMENT_ISSUE,),
            name_status="APPROVED",
            code_verification_status="NOT_VERIFIED",
            platform_type="CLOUD_API",
            throughput_level="STANDARD",
        ),
        PhoneNumber(
            id="1913623884432103",
            display_phone_number="+1 631-555-5556",
            verified_name="Jasper's Ice Cream",
            status="PENDING",
            quality_rating="NA",
            can_send_message="BLOCKED",
            # In Meta's order of the entities: the number's limitation, then its WABA's error.
            health_issues=(
                HealthIssue("PHONE_NUMBER", "1913623884432103", "LIMITED", None, NAME_NOT_APPROVED),
                PAYMENT_ISSUE,
            ),
            name_status="PENDING_REVIEW",
            code_verification_status="VERIFIED",
            platform_type="NOT_APPLICABLE",
            throughput_level="UNKNOWN",
        ),
    ]


async def test_missing_or_null_health_and_state_fields_read_unknown(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    nulls = {
        "id": "2",
        "health_status": None,
        "name_status": None,
        "code_verification_status": None,
        "platform_type": None,
        "throughput": None,
    }
    graph.answer(PHONES_PATH, respond(200, {"data": [listed({"id": "1"})["data"][0], listed(nulls)["data"][0]]}))
    graph.answer(WABA_PATH, respond(200, {"id": WABA_ID, "business_verification_status": None, "health_status": {}}))

    phones = await provider.fetch_phone_numbers(WABA_ID)
    waba = await provider.fetch_waba(WABA_ID)

    for phone in phones:
        assert (phone.can_send_message, phone.health_issues) == ("UNKNOWN", ())
        assert (phone.name_status, phone.code_verification_status) == ("UNKNOWN", "UNKNOWN")
        assert (phone.platform_type, phone.throughput_level) == ("UNKNOWN", "UNKNOWN")
    assert (waba.can_send_message, waba.health_issues, waba.business_verification_status) == ("UNKNOWN", (), "UNKNOWN")


async def test_values_meta_adds_pass_through_and_a_blocked_entity_without_errors_is_still_named(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    node = {
        "id": "1",
        "health_status": {
            "can_send_message": "PAUSED_2027",
            "entities": [
                {"entity_type": "FLOW", "id": "77", "can_send_message": "PAUSED_2027", "additional_info": ["Soon."]},
                {"entity_type": "BUSINESS", "id": META_BUSINESS_ID, "can_send_message": "BLOCKED"},
                {"entity_type": "APP", "id": META_APP_ID, "can_send_message": "AVAILABLE", "brand_new_field": 1},
            ],
        },
        "name_status": "NEW_REVIEW_STATE",
        "code_verification_status": "SOMETHING",
        "platform_type": "SATELLITE",
        "throughput": {"level": "ULTRA", "other": True},
    }

    phone = await only_phone(graph, provider, node)

    assert phone.can_send_message == "PAUSED_2027"
    assert phone.health_issues == (
        HealthIssue("FLOW", "77", "PAUSED_2027", None, "Soon."),
        HealthIssue("BUSINESS", META_BUSINESS_ID, "BLOCKED", None, ""),
    )
    assert (phone.name_status, phone.code_verification_status) == ("NEW_REVIEW_STATE", "SOMETHING")
    assert (phone.platform_type, phone.throughput_level) == ("SATELLITE", "ULTRA")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            {"error_code": "141006", "error_description": "d"},
            HealthIssue("WABA", "9", "BLOCKED", 141006, "d"),
            id="code-as-string",
        ),
        pytest.param(
            {"error_code": "E-1", "possible_solution": "s"},
            HealthIssue("WABA", "9", "BLOCKED", None, "", "s"),
            id="odd-code",
        ),
        pytest.param({}, HealthIssue("WABA", "9", "BLOCKED", None, ""), id="empty-error"),
    ],
)
async def test_an_error_meta_words_loosely_still_reads(
    graph: ScriptedGraph, provider: GraphProvider, error: dict[str, Any], expected: HealthIssue
) -> None:
    entity = {"entity_type": "WABA", "id": "9", "can_send_message": "BLOCKED", "errors": [error]}
    node = {"id": "1", "health_status": {"can_send_message": "BLOCKED", "entities": [entity]}}

    phone = await only_phone(graph, provider, node)

    assert phone.health_issues == (expected,)
