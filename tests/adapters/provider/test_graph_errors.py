"""The Graph adapter turns Graph errors, timeouts and broken connections into the domain errors of SPEC §6."""

from __future__ import annotations

import httpx
import pytest

from intwa.adapters.provider.graph import GraphProvider
from intwa.domain.errors import (
    DomainError,
    ProviderCredentialsRejected,
    ProviderError,
    ProviderRateLimited,
    ProviderUnavailable,
    WabaNotAccessible,
)
from tests.adapters.provider.graph_doubles import (
    PHONES_PATH,
    WABA_ID,
    WABA_PATH,
    MakeProvider,
    ScriptedGraph,
    graph_error,
    graph_fixture,
    respond,
)

ERROR_CASES = [
    pytest.param(400, graph_fixture("error_token_expired.json"), ProviderCredentialsRejected, id="190-expired"),
    pytest.param(401, graph_error(190), ProviderCredentialsRejected, id="190-http-401"),
    pytest.param(400, graph_error(0), ProviderCredentialsRejected, id="0"),
    pytest.param(403, graph_error(10), WabaNotAccessible, id="10"),
    pytest.param(403, graph_fixture("error_permission.json"), WabaNotAccessible, id="200"),
    pytest.param(400, graph_error(250), WabaNotAccessible, id="250"),
    pytest.param(400, graph_error(299), WabaNotAccessible, id="299"),
    pytest.param(400, graph_fixture("error_not_found.json"), WabaNotAccessible, id="100-33"),
    pytest.param(404, graph_error(803), WabaNotAccessible, id="803"),
    pytest.param(400, graph_fixture("error_app_rate_limited.json"), ProviderRateLimited, id="4"),
    pytest.param(429, graph_error(4), ProviderRateLimited, id="4-http-429"),
    pytest.param(400, graph_error(17), ProviderRateLimited, id="17"),
    pytest.param(400, graph_error(32), ProviderRateLimited, id="32"),
    pytest.param(400, graph_error(613), ProviderRateLimited, id="613"),
    pytest.param(400, graph_error(80007), ProviderRateLimited, id="80007"),
    pytest.param(400, graph_fixture("error_rate_limited_waba.json"), ProviderRateLimited, id="80008"),
    pytest.param(500, graph_error(1), ProviderUnavailable, id="1"),
    pytest.param(500, graph_fixture("error_transient.json"), ProviderUnavailable, id="2"),
    pytest.param(400, graph_error(9999, transient=True), ProviderUnavailable, id="is-transient"),
    pytest.param(503, graph_error(12345), ProviderUnavailable, id="http-5xx-unknown-code"),
    pytest.param(502, b"<html>Bad Gateway</html>", ProviderUnavailable, id="http-5xx-not-json"),
    pytest.param(400, graph_fixture("error_nonexisting_field.json"), ProviderError, id="100-nonexisting-field"),
    pytest.param(400, graph_error(300), ProviderError, id="300"),
    pytest.param(400, b"not json", ProviderError, id="http-4xx-not-json"),
    pytest.param(200, b"not json", ProviderError, id="http-200-not-json"),
    pytest.param(200, {"id": 102290129340398}, ProviderError, id="http-200-wrong-shape"),
]


@pytest.mark.parametrize(("status", "body", "expected"), ERROR_CASES)
async def test_graph_errors_become_the_domain_error_their_code_means(
    graph: ScriptedGraph, make_provider: MakeProvider, status: int, body: bytes, expected: type[DomainError]
) -> None:
    graph.answer(WABA_PATH, respond(status, body))

    with pytest.raises(DomainError) as raised:
        await make_provider(max_retries=0).fetch_waba(WABA_ID)

    assert type(raised.value) is expected
    assert (
        raised.value.code
        == {
            ProviderCredentialsRejected: 50200,
            WabaNotAccessible: 42200,
            ProviderRateLimited: 50300,
            ProviderUnavailable: 50300,
            ProviderError: 50200,
        }[expected]
    )


@pytest.mark.parametrize(
    ("body", "fbtrace_id"),
    [
        (graph_fixture("error_token_expired.json"), "AbCdEfGh125"),
        (graph_fixture("error_nonexisting_field.json"), "AbCdEfGh124"),
    ],
)
async def test_provider_errors_carry_metas_fbtrace_id(
    graph: ScriptedGraph, provider: GraphProvider, body: bytes, fbtrace_id: str
) -> None:
    graph.answer(WABA_PATH, respond(400, body))

    with pytest.raises(ProviderError) as raised:
        await provider.fetch_waba(WABA_ID)

    assert raised.value.trace_id == fbtrace_id
    assert fbtrace_id in raised.value.message


async def test_a_waba_not_shared_names_the_waba(graph: ScriptedGraph, provider: GraphProvider) -> None:
    graph.answer(WABA_PATH, respond(403, graph_fixture("error_permission.json")))

    with pytest.raises(WabaNotAccessible, match=f"WABA `{WABA_ID}` is not shared with the platform"):
        await provider.fetch_waba(WABA_ID)


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("no connection free"),
        httpx.ConnectError("connection refused"),
        httpx.RemoteProtocolError("server disconnected"),
    ],
    ids=type,
)
async def test_timeouts_and_connection_errors_are_unavailable_and_no_httpx_error_escapes(
    graph: ScriptedGraph, make_provider: MakeProvider, failure: httpx.HTTPError
) -> None:
    graph.answer(PHONES_PATH, failure)

    with pytest.raises(ProviderUnavailable) as raised:
        await make_provider(max_retries=0).fetch_phone_numbers(WABA_ID)

    assert type(raised.value) is ProviderUnavailable
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
