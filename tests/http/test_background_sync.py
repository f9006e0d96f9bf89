"""The server refreshes bound WABAs in the background, each `sync.interval_seconds` (SPEC §3.7)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dependency_injector import providers

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container, build_container
from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID, make_settings
from tests.http.conftest import ACCOUNT, Api

INTERVAL_SECONDS = "0.2"


@pytest.fixture
async def container(tmp_path: Path, fake_data_path: Path, fake_provider: FakeProvider) -> AsyncIterator[Container]:
    """The conftest's container, with a background sync every 0.2 s."""
    settings = make_settings(tmp_path, fake_data_path, SYNC__INTERVAL_SECONDS=INTERVAL_SECONDS)
    container = build_container(settings)
    container.provider.override(providers.Object(fake_provider))
    storage: Storage = await container.storage()
    await storage.migrate()
    yield container
    await container.shutdown_resources()


async def test_the_server_refreshes_a_bound_waba_in_the_background(
    api: Api, fake_provider: FakeProvider, storage: Storage
) -> None:
    assert (await api.bind(WABA_ID, PHONE_ID)).json()["code"] == 0
    fake_provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")

    # Well within the TTL of 300 s, only the background sync can bring the change.
    for _ in range(100):
        body = (await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID})).json()
        if body["data"][0]["qualityRating"] == "RED":
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("phoneInfo did not show the change within 5 s")

    history = await storage.list_history(WABA_ID)
    assert [(change.field, change.old, change.new, change.source) for change in history] == [
        ("qualityRating", "GREEN", "RED", "sync")
    ]
