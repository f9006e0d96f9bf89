"""The Graph adapter reads WABAs and phone numbers as Meta documents them, through `httpx.MockTransport`."""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager

import httpx
import pytest

from intwa.adapters.provider.graph import GraphProvider, open_graph_client
from intwa.domain.errors import DomainError, ProviderError
from intwa.domain.models import PhoneNumber, Waba
from intwa.settings import GraphSettings, Secret
from tests.adapters.provider.graph_doubles import (
    PHONES_PATH,
    SUBSCRIBE_PATH,
    TOKEN,
    WABA_ID,
    WABA_PATH,
    Answer,
    ScriptedGraph,
    graph_error,
    graph_fixture,
    respond,
)

# --- the client and the WABA -------------------------------------------------------------------------------


async def test_the_client_calls_the_configured_version_with_the_token_in_a_header() -> None:
    settings = GraphSettings(base_url="https://graph.example/", api_version="v30.0", access_token=Secret(TOKEN))
    async with asynccontextmanager(open_graph_client)(settings) as client:
        assert str(client.base_url) == "https://graph.example/v30.0/"
        assert client.headers["authorization"] == f"Bearer {TOKEN}"
        assert client.timeout.read == settings.timeout_seconds
    assert client.is_closed


async def test_a_waba_is_read_with_exactly_the_fields_intwa_needs(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba.json")))

    waba = await provider.fetch_waba(WABA_ID)

    assert waba == Waba(id=WABA_ID, name="Jasper's Market", review_status="APPROVED")
    (request,) = graph.requests
    assert request.method == "GET"
    assert str(request.url) == (
        f"https://graph.facebook.com{WABA_PATH}"
        "?fields=id%2Cname%2Caccount_review_status%2Cbusiness_verification_status%2Chealth_status"
    )
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_a_waba_without_review_status_reads_unknown(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba_default_fields.json")))

    assert await provider.fetch_waba(WABA_ID) == Waba(WABA_ID, "Test WhatsApp Business Account", "UNKNOWN")


async def test_a_waba_without_name_reads_an_empty_name(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(WABA_PATH, respond(200, {"id": WABA_ID, "account_review_status": "REJECTED"}))

    assert await provider.fetch_waba(WABA_ID) == Waba(WABA_ID, "", "REJECTED")


# --- phone numbers -----------------------------------------------------------------------------------------


async def test_phone_numbers_follow_paging_next_until_it_is_absent(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    graph.answer(
        PHONES_PATH,
        respond(200, graph_fixture("phone_numbers_page1.json")),
        respond(200, graph_fixture("phone_numbers_page2.json")),
    )

    phones = await provider.fetch_phone_numbers(WABA_ID)

    assert phones == [
        PhoneNumber("1906385232743451", "+1 631-555-5555", "Jasper's Market", "CONNECTED", "GREEN", "TIER_2K"),
        PhoneNumber("1913623884432103", "+1 631-555-5556", "Jasper's Ice Cream", "PENDING", "NA", "UNKNOWN"),
    ]
    first, second = graph.requests
    assert first.url.params["fields"] == (
        "id,display_phone_number,verified_name,status,quality_rating,whatsapp_business_manager_messaging_limit,"
        "health_status,name_status,code_verification_status,platform_type,throughput"
    )
    assert first.url.params["limit"] == "100"
    assert str(second.url) == json.loads(graph_fixture("phone_numbers_page1.json"))["paging"]["next"]
    assert second.headers["authorization"] == f"Bearer {TOKEN}"


async def test_the_deprecated_messaging_limit_tier_is_read_but_never_requested(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    legacy = {"id": "1", "display_phone_number": "+1 555-0001", "messaging_limit_tier": "TIER_1K"}
    both = {**legacy, "id": "2", "whatsapp_business_manager_messaging_limit": "TIER_10K"}
    graph.answer(PHONES_PATH, respond(200, {"data": [legacy, both]}))

    phones = await provider.fetch_phone_numbers(WABA_ID)

    assert [phone.messaging_limit for phone in phones] == ["TIER_1K", "TIER_10K"]
    assert "messaging_limit_tier" not in graph.requests[0].url.params["fields"]


async def test_missing_phone_fields_read_unknown_and_unknown_values_pass_through(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    bare = {"id": "1", "display_phone_number": "+1 555-0001"}
    novel = {"id": "2", "display_phone_number": "+1 555-0002", "status": "IN_REVIEW_2027", "quality_rating": "BLUE"}
    graph.answer(PHONES_PATH, respond(200, {"data": [bare, novel]}))

    phones = await provider.fetch_phone_numbers(WABA_ID)

    assert phones == [
        PhoneNumber("1", "+1 555-0001", "", "UNKNOWN", "UNKNOWN", "UNKNOWN"),
        PhoneNumber("2", "+1 555-0002", "", "IN_REVIEW_2027", "BLUE", "UNKNOWN"),
    ]


async def test_an_access_token_in_paging_next_is_stripped_before_following(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    next_url = f"https://graph.facebook.com{PHONES_PATH}?access_token={TOKEN}&limit=100&after=QVFIUnBa"
    graph.answer(
        PHONES_PATH,
        respond(200, {"data": [], "paging": {"next": next_url}}),
        respond(200, graph_fixture("phone_numbers_page2.json")),
    )

    phones = await provider.fetch_phone_numbers(WABA_ID)

    assert [phone.id for phone in phones] == ["1913623884432103"]
    followed = graph.requests[1]
    assert TOKEN not in str(followed.url)
    assert dict(followed.url.params) == {"limit": "100", "after": "QVFIUnBa"}
    assert followed.headers["authorization"] == f"Bearer {TOKEN}"


async def test_paging_that_repeats_a_page_is_a_provider_error(graph: ScriptedGraph, provider: GraphProvider) -> None:
    next_url = f"https://graph.facebook.com{PHONES_PATH}?after=SAME"
    graph.answer(PHONES_PATH, respond(200, {"data": [], "paging": {"next": next_url}}))

    with pytest.raises(ProviderError, match=r"paging .* does not end"):
        await provider.fetch_phone_numbers(WABA_ID)
    assert len(graph.requests) == 2


async def test_paging_that_never_ends_is_a_provider_error(graph: ScriptedGraph, provider: GraphProvider) -> None:
    pages = [
        respond(200, {"data": [], "paging": {"next": f"https://graph.facebook.com{PHONES_PATH}?after={n}"}})
        for n in range(1000)
    ]
    graph.answer(PHONES_PATH, *pages)

    with pytest.raises(ProviderError, match="does not end"):
        await provider.fetch_phone_numbers(WABA_ID)
    assert len(graph.requests) == 50


async def test_paging_never_sends_the_token_to_another_host(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(PHONES_PATH, respond(200, {"data": [], "paging": {"next": "https://collector.example/steal"}}))

    with pytest.raises(ProviderError, match="points away from the Graph API"):
        await provider.fetch_phone_numbers(WABA_ID)
    assert len(graph.requests) == 1


# --- subscribing -------------------------------------------------------------------------------------------


async def test_subscribing_posts_to_the_wabas_subscribed_apps(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(SUBSCRIBE_PATH, respond(200, graph_fixture("subscribed_apps_post.json")))

    await provider.subscribe_app(WABA_ID)

    (request,) = graph.requests
    assert (request.method, request.url.path) == ("POST", SUBSCRIBE_PATH)


async def test_a_subscription_meta_does_not_confirm_is_a_provider_error(
    graph: ScriptedGraph, provider: GraphProvider
) -> None:
    graph.answer(SUBSCRIBE_PATH, respond(200, {"success": False}))

    with pytest.raises(ProviderError, match="did not confirm"):
        await provider.subscribe_app(WABA_ID)


# --- secrecy -----------------------------------------------------------------------------------------------


async def test_the_token_never_shows_in_logs_errors_or_repr(
    graph: ScriptedGraph, provider: GraphProvider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[DomainError] = []
    graph.answer(WABA_PATH, respond(200, graph_fixture("waba.json")))
    await provider.fetch_waba(WABA_ID)
    next_url = f"https://graph.facebook.com{PHONES_PATH}?access_token={TOKEN}&after=QVFIUnBa"
    graph.answer(
        PHONES_PATH,
        respond(200, {"data": [], "paging": {"next": next_url}}),
        respond(200, graph_fixture("phone_numbers_page2.json")),
    )
    await provider.fetch_phone_numbers(WABA_ID)
    answers: list[Answer] = [
        respond(401, graph_fixture("error_token_expired.json")),
        respond(500, graph_fixture("error_transient.json")),
        respond(400, graph_error(100, message=f"Malformed access token {TOKEN}")),
        httpx.ReadTimeout(f"timed out with {TOKEN}"),
    ]
    for answer in answers:
        graph.answer(SUBSCRIBE_PATH, answer)
        with pytest.raises(DomainError) as raised:
            await provider.subscribe_app(WABA_ID)
        errors.append(raised.value)

    assert len(caplog.records) > len(graph.requests)  # the adapter's and httpx's records
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
    assert TOKEN not in repr(provider)
