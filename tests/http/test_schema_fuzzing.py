"""Schema fuzzing (schemathesis): every documented operation, fed generated requests, answers as documented.

The OpenAPI document is the one the app serves at `/schema/openapi.json`. For each operation schemathesis
generates requests that fit the document and requests that do not, and checks every answer: never a 5xx,
a documented status with a body and content type that match the document, a 405 that names the allowed
methods, requests that fit the document accepted and requests that break it refused. The run is bounded
(a fixed seed, a few dozen examples per operation) so that it takes seconds and fails the same way each time.

Generated requests are steered towards the interesting answers: most carry the test account's key and
`accountName`, and often ids that exist (a WABA bound to the account, one bound to another account, one
Meta does not know), so that success bodies and conflicts are checked too; the rest keep what schemathesis
generated (40100, 40300, 40000 answers). Webhook posts are sometimes signed with the app secret, and
handshakes sometimes present the verify token.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from litestar.serialization import encode_json
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from intwa.container import build_container
from intwa.domain import validation
from intwa.domain.errors import InvalidField
from intwa.domain.events import EVENT_ID_PATTERN
from intwa.domain.webhooks.signature import SIGNATURE_HEADER
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.app import create_app
from intwa.settings import Settings, load_settings
from tests.conftest import (
    FAKE_DATA,
    OTHER_WABA_ID,
    OTHER_WABA_PHONE_ID,
    PHONE_ID,
    SECOND_PHONE_ID,
    UNKNOWN_WABA_ID,
    WABA_ID,
    make_settings,
)

ACCOUNT = "IW0001"
OTHER_ACCOUNT = "IW0002"
APP_SECRET = "fuzz-app-secret"
VERIFY_TOKEN = "fuzz-verify-token"
ACCOUNT_API = "/intwa-api/whatsapp/account/"
WEBHOOK = "/intwa-api/whatsapp/webhook"
# Stand-ins for the test account's key (made by the fixture) and for the signature of a body whose bytes
# are known only when it is sent: `FuzzedApi.send` replaces them.
TEST_ACCOUNT_KEY = "Bearer the-test-account-key"
SIGN_ME = "sha256=sign-me"
# A well-formed `after` names an event of the test account, or the feed would refuse it (40000) though it fits.
TEST_ACCOUNT_EVENT = "evt_0000000000000000000000TEST"

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261127,
        # Generation time is not what this test is about; a loaded CI machine must not fail it.
        "suppress-health-check": ["too_slow"],
        "generation": {"mode": "all", "max-examples": 40, "deterministic": True, "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True}},
        # A request that fits the document may still name a WABA that Meta does not know: 42200, not a refusal.
        "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", 401, 403, 404, 409, 422, 429]}},
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    unsupported_method,
    positive_data_acceptance,
    negative_data_rejection,
]


class FuzzedApi:
    """The app behind Litestar's test client, the test account's key and one of its events."""

    def __init__(self, client: TestClient[Any], api_key: str, event_id: str) -> None:
        self.client = client
        self.api_key = api_key
        self.event_id = event_id

    def send(self, case: schemathesis.Case) -> httpx.Response:
        request = case.as_transport_kwargs(base_url=str(self.client.base_url))
        if isinstance(request.get("json"), dict) and request["json"].get("after") == TEST_ACCOUNT_EVENT:
            request["json"]["after"] = self.event_id
        content = json.dumps(request["json"]).encode() if "json" in request else request.get("data")
        if isinstance(content, str):
            content = content.encode()
        headers = {name: str(value) for name, value in request["headers"].items()}
        if headers.get("Authorization") == TEST_ACCOUNT_KEY:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if headers.get(SIGNATURE_HEADER) == SIGN_ME:
            digest = hmac.new(APP_SECRET.encode(), content or b"", hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"sha256={digest}"
        return self.client.request(
            request["method"], request["url"], params=request.get("params"), headers=headers, content=content
        )


async def _seed(settings: Settings) -> tuple[str, str]:
    """A migrated database: the test account with a bound WABA, another account with another WABA.

    Returns the test account's key and the id of its first event.
    """
    container = build_container(settings)
    try:
        await (await resolve(container.storage)).migrate()
        accounts = await resolve(container.accounts)
        bind = await resolve(container.bind_phone_number)
        api_key = (await accounts.create(ACCOUNT)).api_key
        await accounts.create(OTHER_ACCOUNT)
        await bind(ACCOUNT, WABA_ID, PHONE_ID)
        await bind(OTHER_ACCOUNT, OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
        read_events = await resolve(container.read_events)
        return api_key, (await read_events(ACCOUNT)).events[0].id
    finally:
        await resolve(container.shutdown_resources)


@pytest.fixture(scope="module")
def fuzzed_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzedApi]:
    folder = tmp_path_factory.mktemp("fuzzing")
    fake_data_path = folder / "fake-data.json"
    fake_data_path.write_text(json.dumps(FAKE_DATA), encoding="utf-8")
    settings = make_settings(
        Path(folder),
        fake_data_path,
        SERVER__MAX_BODY_BYTES="2048",
        SYNC__INTERVAL_SECONDS="0",
        WEBHOOK__APP_SECRET=APP_SECRET,
        WEBHOOK__VERIFY_TOKEN=VERIFY_TOKEN,
        LOGGING__LEVEL="CRITICAL",
    )
    api_key, event_id = asyncio.run(_seed(settings))
    with TestClient(app=create_app(build_container(settings)), raise_server_exceptions=False) as client:
        yield FuzzedApi(client, api_key, event_id)


def _served_document() -> dict[str, Any]:
    """The OpenAPI document as `/schema/openapi.json` serves it; building the app opens nothing."""
    app = create_app(build_container(load_settings(None, {})))
    document: dict[str, Any] = json.loads(encode_json(app.openapi_schema.to_schema()))
    return document


schema = schemathesis.openapi.from_dict(_served_document(), config=CONFIG)


@schema.hook
def flatmap_case(context: Any, case: schemathesis.Case) -> st.SearchStrategy[schemathesis.Case]:
    dice = st.integers(0, 9)
    return st.tuples(dice, dice, dice, dice).map(lambda rolls: _steer(case, *rolls))


def _steer(case: schemathesis.Case, auth: int, name: int, waba: int, phone: int) -> schemathesis.Case:
    """Point most requests at the test account and ids that exist; leave the rest as generated."""
    method, path = case.method.upper(), case.operation.path
    if path.startswith(ACCOUNT_API):
        if auth < 9:
            case.headers = {**(case.headers or {}), "Authorization": TEST_ACCOUNT_KEY}
        if isinstance(case.body, dict):
            if name < 8:
                case.body["accountName"] = ACCOUNT
            if "wabaId" in case.body and waba < 6:
                case.body["wabaId"] = (WABA_ID, WABA_ID, WABA_ID, OTHER_WABA_ID, UNKNOWN_WABA_ID, WABA_ID)[waba]
            if isinstance(case.body.get("after"), str) and re.fullmatch(EVENT_ID_PATTERN, case.body["after"]):
                case.body["after"] = TEST_ACCOUNT_EVENT
            if "phoneNumberId" in case.body and phone < 6:
                # Unbind never gets the first phone number, so that the WABA stays bound for phoneInfo.
                phones = (
                    (SECOND_PHONE_ID, OTHER_WABA_PHONE_ID) if path.endswith("/unbind") else (PHONE_ID, SECOND_PHONE_ID)
                )
                case.body["phoneNumberId"] = phones[phone % 2]
    elif path == WEBHOOK and method == "POST" and auth < 5:
        case.headers = {**(case.headers or {}), SIGNATURE_HEADER: SIGN_ME}
    elif path == WEBHOOK and method == "GET" and auth < 5:
        case.query = {**(case.query or {}), "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN}
    return case


@schema.parametrize()
def test_every_documented_operation_answers_as_the_document_says(
    case: schemathesis.Case, fuzzed_api: FuzzedApi
) -> None:
    response = fuzzed_api.send(case)

    case.validate_response(response, checks=CHECKS)


def test_a_method_not_allowed_names_the_allowed_methods(fuzzed_api: FuzzedApi) -> None:
    """Found by fuzzing: the 405 envelope dropped Litestar's `Allow` header (RFC 9110 §15.5.6)."""
    response = fuzzed_api.client.put(f"{ACCOUNT_API}phoneInfo")

    assert response.status_code == 405
    assert response.json()["code"] == 40500
    assert set(response.headers["allow"].split(", ")) == {"POST", "OPTIONS"}


def test_every_error_answer_is_documented_as_an_envelope() -> None:
    """Found by fuzzing: the handshake's 400 was documented in Litestar's shape, readyz had no 503."""
    document = _served_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if path.startswith("/intwa-api/") and int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorEnvelope"
                    }, f"{method.upper()} {path} {status}"
    assert "503" in document["paths"]["/readyz"]["get"]["responses"]


@pytest.mark.parametrize(
    ("field", "rule", "values"),
    [
        ("accountName", validation.account_name, ["IW0001", "a", "I" * 64, "I" * 65, "_IW", "IW 1", "IW/..", ""]),
        ("wabaId", lambda value: validation.meta_id(value, "wabaId"), ["1", "1" * 32, "1" * 33, "", "12a", "２７８"]),
        (
            "phoneNumber",
            validation.phone_number,
            ["+62 852-1234-0016", "(+62) 852", "123456", "12345", "1" * 16, "++62852123", "62+852123", "+62 8a2"],
        ),
    ],
)
def test_the_documented_field_patterns_are_the_domain_rules(field: str, rule: Any, values: list[str]) -> None:
    """Found by fuzzing: request bodies were documented as any string; the domain refuses most of them."""
    properties = _served_document()["components"]["schemas"]["BindRequest"]["properties"]
    pattern = re.compile(properties[field]["pattern"])
    for value in values:
        try:
            rule(value)
            accepted = True
        except InvalidField:
            accepted = False
        assert (pattern.search(value) is not None) == accepted, f"{field} {value!r}"
