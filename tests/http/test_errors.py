"""Failures that are not the client's input: routes, methods, Meta, and the unexpected (SPEC §3.8)."""

from __future__ import annotations

import logging

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container
from intwa.domain.errors import ProviderCredentialsRejected, ProviderRateLimited, ProviderUnavailable
from intwa.entrypoints.http.app import create_app
from tests.conftest import PHONE_ID, WABA_ID
from tests.http.conftest import ACCOUNT, Api


async def test_an_unknown_path_is_40400_in_the_envelope(api: Api) -> None:
    response = await api.client.post("/intwa-api/whatsapp/account/nothing", json={})

    assert response.status_code == 404
    assert response.json() == {
        "code": 40400,
        "message": "no such path: /intwa-api/whatsapp/account/nothing",
        "data": None,
    }


async def test_a_wrong_method_is_40500_in_the_envelope(api: Api) -> None:
    response = await api.client.get("/intwa-api/whatsapp/account/bind")

    assert response.status_code == 405
    assert response.json()["code"] == 40500
    assert response.json()["data"] is None


async def test_meta_rejecting_the_token_is_50200_with_the_trace_id(api: Api, fake_provider: FakeProvider) -> None:
    fake_provider.fail_with(None, ProviderCredentialsRejected("Meta rejected the access token", trace_id="AbCdEf"))

    response = await api.bind(WABA_ID, PHONE_ID)

    assert response.status_code == 502
    assert response.json()["code"] == 50200
    assert "AbCdEf" in response.json()["message"]


@pytest.mark.parametrize("error", [ProviderRateLimited, ProviderUnavailable])
async def test_meta_unavailable_is_50300_with_retry_after(
    api: Api, fake_provider: FakeProvider, error: type[ProviderUnavailable]
) -> None:
    fake_provider.fail_with(WABA_ID, error("Meta is not answering", retry_after_seconds=120))

    response = await api.bind(WABA_ID, PHONE_ID)

    assert response.status_code == 503
    assert response.json()["code"] == 50300
    assert response.headers["retry-after"] == "120"


async def test_an_unexpected_error_is_50000_with_a_correlation_id_and_no_trace(
    api: Api, fake_provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fake_provider.fail_with(None, RuntimeError("database exploded at /secret/path"))  # type: ignore[arg-type]

    with caplog.at_level(logging.ERROR, logger="intwa.http"):
        response = await api.bind(WABA_ID, PHONE_ID)

    assert response.status_code == 500
    body = response.json()
    assert body["code"] == 50000
    assert "Traceback" not in response.text
    assert "/secret/path" not in response.text
    correlation_id = body["message"].rsplit(" ", 1)[-1]
    assert any(correlation_id in record.getMessage() for record in caplog.records)


async def test_health_and_readiness_answer_without_a_key(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok"}


async def test_readiness_is_503_when_storage_does_not_answer(container: Container) -> None:
    class BrokenStorage:
        async def ping(self) -> None:
            raise OSError("disk gone")

    with container.storage.override(providers.Object(BrokenStorage())):
        async with AsyncTestClient(app=create_app(container)) as client:
            response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


async def test_the_openapi_document_describes_every_endpoint_and_its_bodies(api: Api) -> None:
    document = (await api.client.get("/schema/openapi.json")).json()

    for endpoint in (
        "bind",
        "unbind",
        "phoneInfo",
        "wabaInfo",
        "callbackSet",
        "callbackInfo",
        "callbackDelete",
        "callbackTest",
    ):
        operation = document["paths"][f"/intwa-api/whatsapp/account/{endpoint}"]["post"]
        assert "requestBody" in operation
        assert {"200", "400", "401", "403", "413", "500"} <= set(operation["responses"])
    schemas = document["components"]["schemas"]
    assert {"accountName", "wabaId", "phoneNumberId", "phoneNumber"} <= set(schemas["BindRequest"]["properties"])
    assert {"accountName", "url", "types", "rotateSecret"} == set(schemas["CallbackSetRequest"]["properties"])
    assert "422" in document["paths"]["/intwa-api/whatsapp/account/callbackSet"]["post"]["responses"]
    assert "404" in document["paths"]["/intwa-api/whatsapp/account/callbackInfo"]["post"]["responses"]
    assert {"code", "message", "data"} <= set(schemas["ErrorEnvelope"]["properties"])
    assert document["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    assert (await api.client.get("/schema")).status_code == 200


async def test_phone_info_of_an_account_is_unaffected_by_other_accounts_keys(api: Api) -> None:
    await api.bind(WABA_ID, PHONE_ID)

    response = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID}, key="iwk_" + "x" * 43)

    assert response.json()["code"] == 40100
