"""Methods under `/intwa-api/` (SPEC §3.1): `OPTIONS`, refused and unknown methods all get the envelope.

`OPTIONS` on an API path is 200 with the success envelope and `Allow`; any method a path does not allow
is 405 with the error envelope and the same `Allow`; on an unknown path both are 404. The probes and
`/metrics` answer `HEAD` as well as `GET`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from dependency_injector import providers
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from intwa.container import Container, build_container
from intwa.domain.ports import Storage
from intwa.entrypoints.http.app import create_app
from tests.conftest import PHONE_ID, WABA_ID, make_settings
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import APP_SECRET, fixture_body, sign

ACCOUNT_API = "/intwa-api/whatsapp/account"
WEBHOOK = "/intwa-api/whatsapp/webhook"
ALLOWED = {
    f"{ACCOUNT_API}/bind": "OPTIONS, POST",
    f"{ACCOUNT_API}/unbind": "OPTIONS, POST",
    f"{ACCOUNT_API}/phoneInfo": "OPTIONS, POST",
    f"{ACCOUNT_API}/wabaInfo": "OPTIONS, POST",
    f"{ACCOUNT_API}/callbackSet": "OPTIONS, POST",
    f"{ACCOUNT_API}/callbackInfo": "OPTIONS, POST",
    f"{ACCOUNT_API}/callbackDelete": "OPTIONS, POST",
    f"{ACCOUNT_API}/callbackTest": "OPTIONS, POST",
    WEBHOOK: "GET, OPTIONS, POST",
}
SUCCESS = {"code": 0, "message": "Success", "data": None}


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"WEBHOOK__APP_SECRET": APP_SECRET}


@pytest.fixture
async def bound(api: Api, storage: Storage) -> list[str]:
    """The account's binding, which no refused request may change."""
    assert (await api.bind(WABA_ID, PHONE_ID)).json()["code"] == 0
    return await _bound_phones(storage)


async def _bound_phones(storage: Storage) -> list[str]:
    return [binding.phone_number_id for binding in await storage.list_bindings()]


def _unbind_request(api: Api) -> dict[str, object]:
    """What an unbind carries: had any method but POST acted on it, the binding would be gone."""
    return {
        "headers": {"Authorization": f"Bearer {api.keys[ACCOUNT]}"},
        "json": {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": PHONE_ID},
    }


# OPTIONS


@pytest.mark.parametrize(("path", "allowed"), ALLOWED.items())
async def test_options_on_an_api_path_is_the_success_envelope_with_allow(
    api: Api, storage: Storage, bound: list[str], path: str, allowed: str
) -> None:
    response = await api.client.request("OPTIONS", path, **_unbind_request(api))  # type: ignore[arg-type]

    assert response.status_code == 200
    assert response.json() == SUCCESS
    assert response.headers["allow"] == allowed
    assert response.headers["content-type"] == "application/json"
    assert await _bound_phones(storage) == bound


async def test_options_needs_no_key(api: Api) -> None:
    response = await api.client.options(f"{ACCOUNT_API}/wabaInfo")

    assert response.status_code == 200
    assert response.json() == SUCCESS


async def test_every_api_route_answers_options_with_the_envelope(api: Api) -> None:
    """A path added later without `answer_options` would answer Litestar's bare 204: this test names it."""
    app = api.client.app
    paths = [
        route.path for route in app.routes if isinstance(route, HTTPRoute) and route.path.startswith("/intwa-api/")
    ]
    assert set(ALLOWED) <= set(paths)

    for path in paths:
        response = await api.client.options(path)
        assert (response.status_code, response.json()) == (200, SUCCESS), path
        assert "OPTIONS" in response.headers["allow"].split(", "), path


async def test_options_on_an_unknown_api_path_is_40400(api: Api) -> None:
    response = await api.client.options(f"{ACCOUNT_API}/nothing")

    assert response.status_code == 404
    assert response.json() == {"code": 40400, "message": f"no such path: {ACCOUNT_API}/nothing", "data": None}


async def test_options_on_the_webhook_without_an_app_secret_is_40400(tmp_path: Path, fake_data_path: Path) -> None:
    settings = make_settings(tmp_path, fake_data_path, SYNC__INTERVAL_SECONDS="0")

    async with AsyncTestClient(app=create_app(build_container(settings))) as client:
        response = await client.options(WEBHOOK)

    assert response.status_code == 404
    assert response.json() == {"code": 40400, "message": f"no such path: {WEBHOOK}", "data": None}


# Refused and unknown methods


@pytest.mark.parametrize("method", ["FOO", "PROPFIND", "PURGE", "PUT", "DELETE", "PATCH", "TRACE"])
@pytest.mark.parametrize(("path", "allowed"), ALLOWED.items())
async def test_a_method_the_path_does_not_allow_is_40500_with_allow_and_changes_nothing(
    api: Api, storage: Storage, bound: list[str], path: str, allowed: str, method: str
) -> None:
    response = await api.client.request(method, path, **_unbind_request(api))  # type: ignore[arg-type]

    assert response.status_code == 405
    assert response.json() == {"code": 40500, "message": f"method {method} is not allowed on {path}", "data": None}
    assert response.headers["allow"] == allowed
    assert await _bound_phones(storage) == bound


async def test_an_unknown_method_on_the_webhook_applies_nothing(api: Api, storage: Storage) -> None:
    body = fixture_body("account_review_update")

    response = await api.client.request("FOO", WEBHOOK, content=body, headers={"X-Hub-Signature-256": sign(body)})

    assert response.status_code == 405
    assert response.json()["code"] == 40500
    assert await storage.list_webhook_events() == []


async def test_an_unknown_method_on_an_unknown_api_path_is_40400(api: Api) -> None:
    response = await api.client.request("FOO", "/intwa-api/nothing")

    assert response.status_code == 404
    assert response.json() == {"code": 40400, "message": "no such path: /intwa-api/nothing", "data": None}


async def test_head_on_an_api_path_is_refused_with_allow_and_no_body(api: Api) -> None:
    response = await api.client.head(f"{ACCOUNT_API}/phoneInfo")

    assert response.status_code == 405
    assert response.headers["allow"] == "OPTIONS, POST"
    assert response.content == b""


async def test_unknown_methods_are_counted_under_one_label(api: Api) -> None:
    await api.client.request("FOO", f"{ACCOUNT_API}/bind")
    await api.client.request("BAR", f"{ACCOUNT_API}/bind")

    metrics = (await api.client.get("/metrics")).text

    samples = [
        sample.labels
        for family in text_string_to_metric_families(metrics)
        for sample in family.samples
        if sample.name == "intwa_http_requests_total" and sample.value == 2
    ]
    assert {"route": "unmatched", "method": "other", "status": "405", "code": "40500"} in samples
    assert "FOO" not in metrics


# HEAD on the probes and /metrics


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
async def test_head_on_a_probe_or_metrics_is_the_get_answer_without_its_body(api: Api, path: str) -> None:
    got = await api.client.get(path)
    head = await api.client.head(path)

    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_head_on_readyz_is_503_when_storage_does_not_answer(container: Container) -> None:
    class BrokenStorage:
        async def ping(self) -> None:
            raise OSError("disk gone")

    with container.storage.override(providers.Object(BrokenStorage())):
        async with AsyncTestClient(app=create_app(container)) as client:
            response = await client.head("/readyz")

    assert response.status_code == 503
    assert response.content == b""


# The OpenAPI document


async def test_the_openapi_document_stays_valid_and_documents_head_on_the_probes(api: Api) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()

    schemathesis.openapi.from_dict(json.loads(json.dumps(document))).validate()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert set(document["paths"][path]) == {"get", "head"}
    for path in ALLOWED:
        assert "options" not in document["paths"][path]
