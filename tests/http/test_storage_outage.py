"""The HTTP API while intwa's own storage is unavailable: 50301 with `Retry-After`, logged once (SPEC §3.8)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from intwa.adapters.storage.outage import OUTAGE_LOGGER, StorageOutage
from intwa.adapters.storage.sqlite_database import SqliteDatabase
from intwa.container import Container
from intwa.domain.errors import StorageUnavailable
from intwa.entrypoints.http.app import create_app
from intwa.settings import Settings
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID
from tests.http.conftest import ACCOUNT, Api
from tests.webhook_examples import (
    APP_SECRET,
    META_PHONE_ID,
    META_WABA_ID,
    fixture_body,
    restamped,
    sign,
    write_fake_data_with_meta_waba,
)

WEBHOOK = "/intwa-api/whatsapp/webhook"
LOCKED = {"code": 50301, "message": "storage is unavailable (database locked); retry in 5 s", "data": None}


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"WEBHOOK__APP_SECRET": APP_SECRET}


@pytest.fixture
async def database(container: Container) -> SqliteDatabase:
    """The app's SQLite file; its writer waits 50 ms for another process's write lock instead of 5 s."""
    database: SqliteDatabase = await container.sqlite_database()
    async with database.transaction() as writer:
        await writer.execute("PRAGMA busy_timeout = 50")
    return database


@contextmanager
def write_lock_held(settings: Settings) -> Iterator[None]:
    """Another process holding the file's write lock (past the busy timeout): writes fail, reads answer."""
    other = sqlite3.connect(settings.storage.sqlite_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
    finally:
        other.close()


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The outage's log lines: level, and the message up to its detail."""
    return [
        (record.levelname, record.getMessage().split(":")[0])
        for record in caplog.records
        if record.name == OUTAGE_LOGGER
    ]


async def test_a_store_that_takes_no_writes_answers_them_50301_with_retry_after_and_reads_as_ever(
    api: Api, container: Container, database: SqliteDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await api.bind(META_WABA_ID, META_PHONE_ID)).status_code == 200
    database.outage = StorageOutage(settle_seconds=0)  # the outage ends with the first success after it

    with caplog.at_level(logging.INFO):
        with write_lock_held(container.settings()):
            binds = [await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID) for _ in range(20)]
            phone_info = await api.post("phoneInfo", {"accountName": ACCOUNT, "wabaId": META_WABA_ID})
            waba_info = await api.post("wabaInfo", {"accountName": ACCOUNT})
            ready = await api.client.get("/readyz")
        bound = await api.bind(OTHER_WABA_ID, OTHER_WABA_PHONE_ID)

    assert {(response.status_code, response.headers["retry-after"]) for response in binds} == {(503, "5")}
    assert all(response.json() == LOCKED for response in binds)
    assert (phone_info.status_code, phone_info.json()["data"][0]["id"]) == (200, META_PHONE_ID)
    assert [waba["wabaId"] for waba in waba_info.json()["data"]] == [META_WABA_ID]
    assert ready.status_code == 200  # reads answer: the instance still serves them
    assert bound.status_code == 200
    assert _outage_lines(caplog) == [
        ("WARNING", "storage is unavailable (database locked)"),
        ("INFO", "storage answers again"),
    ]
    [ended] = [record.getMessage() for record in caplog.records if record.name == OUTAGE_LOGGER][1:]
    assert ended.endswith(", 20 calls failed")
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


async def test_a_webhook_the_store_cannot_take_is_50301_so_that_meta_delivers_it_again(
    api: Api, container: Container, database: SqliteDatabase
) -> None:
    assert (await api.bind(META_WABA_ID, META_PHONE_ID)).status_code == 200
    body = restamped(fixture_body("account_review_update"))
    headers = {"X-Hub-Signature-256": sign(body)}

    with write_lock_held(container.settings()):
        refused = await api.client.post(WEBHOOK, content=body, headers=headers)
    again = await api.client.post(WEBHOOK, content=body, headers=headers)

    assert (refused.status_code, refused.headers["retry-after"], refused.json()) == (503, "5", LOCKED)
    assert again.status_code == 200
    waba_info = await api.post("wabaInfo", {"accountName": ACCOUNT})
    assert waba_info.json()["data"][0]["wabaStatus"] == "APPROVED"


async def test_readiness_is_503_while_storage_is_unavailable_without_a_line_per_probe(
    container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    class StorageOut:
        async def ping(self) -> None:
            raise StorageUnavailable("storage is unavailable (connection lost); retry in 5 s")

    with container.storage.override(providers.Object(StorageOut())), caplog.at_level(logging.DEBUG):
        async with AsyncTestClient(app=create_app(container)) as client:
            probes = [await client.get("/readyz") for _ in range(5)]

    assert {(probe.status_code, probe.text) for probe in probes} == {(503, '{"status":"unavailable"}')}
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []
