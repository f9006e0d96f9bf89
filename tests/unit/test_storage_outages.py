"""Use cases while intwa's own storage is unavailable: answered when they can be, retried, never noisy."""

from __future__ import annotations

import asyncio
import logging

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import StorageUnavailable
from intwa.domain.queries import ListWabas
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import BackgroundSync, SyncWabas
from tests.conftest import PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import StorageWithOutage
from tests.unit.conftest import MAX_STALE_SECONDS, TTL_SECONDS
from tests.unit.test_background_sync import INTERVAL, RecordingSleep


@pytest.fixture
async def storage() -> StorageWithOutage:
    return StorageWithOutage()


@pytest.fixture
async def bound(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    await accounts.create("IW0001")
    await bind("IW0001", WABA_ID, PHONE_ID)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.usefixtures("bound")
async def test_a_stale_snapshot_is_answered_while_the_store_cannot_take_its_refresh(
    snapshots: Snapshots,
    storage: StorageWithOutage,
    provider: FakeProvider,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.advance(TTL_SECONDS + 1)
    storage.fail_next(100, writes_only=True)  # a full disk: reads answer, writes do not

    first = await snapshots.current(WABA_ID)
    second = await snapshots.current(WABA_ID)

    assert first.waba.id == second.waba.id == WABA_ID
    assert snapshots.stale_hits == 2
    assert storage.failed == 1  # then the WABA's refreshes wait for the store's retry time
    assert _warnings(caplog) == []

    storage.fail_next(0)
    clock.advance(5)
    fetches = provider.calls["fetch_waba"]
    await snapshots.current(WABA_ID)
    assert provider.calls["fetch_waba"] == fetches + 1  # refreshed again, and stored


@pytest.mark.usefixtures("bound")
async def test_a_list_of_wabas_without_a_servable_snapshot_is_the_stores_error_not_a_wabas(
    snapshots: Snapshots, storage: StorageWithOutage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.advance(MAX_STALE_SECONDS + 1)
    storage.fail_next(100, writes_only=True)

    with pytest.raises(StorageUnavailable):
        await ListWabas(storage, snapshots)("IW0001")

    assert _warnings(caplog) == []


@pytest.mark.usefixtures("bound")
async def test_an_operators_sync_stops_with_the_store_instead_of_failing_every_waba(
    snapshots: Snapshots, storage: StorageWithOutage
) -> None:
    storage.fail_next(100, writes_only=True)

    with pytest.raises(StorageUnavailable):
        await SyncWabas(storage, snapshots)()


@pytest.mark.usefixtures("bound")
async def test_the_background_sync_waits_out_an_outage_quietly_and_goes_on(
    snapshots: Snapshots,
    storage: StorageWithOutage,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = RecordingSleep()
    background = BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL, sleep=sleep)
    clock.advance(INTERVAL)  # the snapshot is due
    storage.fail_next(3)  # the store answers nothing for three calls: three rounds end at once

    background.start()
    for _ in range(500):
        if background.refreshes:
            break
        await asyncio.sleep(0.01)
    await background.stop()

    assert storage.failed == 3
    assert background.refreshes == 1
    assert sleep.calls.count(5) == 3  # the store's retry time after each, not a whole interval
    assert _warnings(caplog) == []  # the store logs its outage, once; the loop adds nothing per round
