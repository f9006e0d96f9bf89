"""The server refreshes bound WABAs in the background, each `sync.interval_seconds` (SPEC §3.7)."""

from __future__ import annotations

import asyncio

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.ports import Storage
from tests.conftest import PHONE_ID, WABA_ID
from tests.http.conftest import ACCOUNT, Api

INTERVAL_SECONDS = "0.2"


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """A background sync every 0.2 s."""
    return {"SYNC__INTERVAL_SECONDS": INTERVAL_SECONDS}


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
