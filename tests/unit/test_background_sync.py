"""The server's background sync: refreshes spread over the interval, skipped when young or throttled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest

from intwa.adapters.clock import SystemClock
from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from intwa.domain.models import Change, WabaUsage
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import BackgroundSync
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.conftest import MAX_STALE_SECONDS, TTL_SECONDS

INTERVAL = 60.0


class RecordingSleep:
    """A sleep that returns at once (after letting other tasks run) and remembers what it was asked."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def two_wabas(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    """IW0001 holds WABA_ID, IW0002 holds OTHER_WABA_ID; both snapshots fetched at the clock's start."""
    await accounts.create("IW0001")
    await accounts.create("IW0002")
    await bind("IW0001", WABA_ID, PHONE_ID)
    await bind("IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def background(
    snapshots: Snapshots, storage: InMemoryStorage, clock: FakeClock, sleep: RecordingSleep
) -> BackgroundSync:
    return BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL, sleep=sleep)


def _fetches(provider: FakeProvider) -> int:
    return provider.calls["fetch_waba"]


async def _until(condition: Callable[[], bool]) -> None:
    """Wait, up to five seconds, until the background task has made `condition` true."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the background sync did not get there in 5 s")


@pytest.mark.usefixtures("two_wabas")
async def test_a_round_spreads_the_refreshes_over_the_interval(
    background: BackgroundSync, sleep: RecordingSleep, provider: FakeProvider, clock: FakeClock
) -> None:
    clock.advance(INTERVAL)
    before = _fetches(provider)

    await background.run_round()

    assert sleep.calls == [INTERVAL / 2, INTERVAL / 2]
    assert _fetches(provider) - before == 2
    assert (background.rounds, background.refreshes) == (1, 2)


@pytest.mark.usefixtures("two_wabas")
async def test_background_refreshes_record_changes_with_source_sync(
    background: BackgroundSync, storage: InMemoryStorage, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.update_waba(WABA_ID, account_review_status="REJECTED")
    clock.advance(INTERVAL)

    await background.run_round()

    assert await storage.list_history() == [
        Change(clock.now(), WABA_ID, None, "wabaStatus", "APPROVED", "REJECTED", "sync")
    ]


@pytest.mark.usefixtures("two_wabas")
async def test_a_snapshot_younger_than_half_the_interval_is_not_refreshed(
    background: BackgroundSync, provider: FakeProvider, clock: FakeClock
) -> None:
    clock.advance(INTERVAL / 2 - 1)
    before = _fetches(provider)

    await background.run_round()

    assert _fetches(provider) == before
    assert (background.refreshes, background.skips) == (0, 2)

    clock.advance(2)
    await background.run_round()

    assert _fetches(provider) - before == 2


@pytest.mark.usefixtures("two_wabas")
async def test_a_throttled_waba_waits_until_meta_lets_it_call_again(
    background: BackgroundSync, provider: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.advance(INTERVAL)
    regain_at = clock.now() + timedelta(minutes=10)
    provider.set_usage(WABA_ID, WabaUsage(call_count=95, total_cputime=10, total_time=10, regain_access_at=regain_at))
    caplog.set_level(logging.INFO, logger="intwa.sync")
    before = provider.calls.copy()

    await background.run_round()

    assert provider.calls["fetch_waba"] - before["fetch_waba"] == 1  # the other WABA only
    assert background.refreshes == 1
    assert any(record.levelno == logging.INFO and WABA_ID in record.getMessage() for record in caplog.records)

    clock.advance(10 * 60)
    await background.run_round()

    assert background.refreshes == 3


@pytest.mark.usefixtures("two_wabas")
async def test_a_provider_error_is_logged_and_the_round_goes_on(
    background: BackgroundSync, provider: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider.fail_with(WABA_ID, WabaNotAccessible(f"WABA `{WABA_ID}` is no longer shared"))
    clock.advance(INTERVAL)

    await background.run_round()

    assert (background.refreshes, background.failures) == (1, 1)
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert WABA_ID in warnings[0]
    assert "42200" in warnings[0]


@pytest.mark.usefixtures("two_wabas")
async def test_the_loop_keeps_running_through_provider_errors_until_stopped(
    background: BackgroundSync, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.fail_with(None, ProviderUnavailable("Meta is unavailable"))
    clock.advance(INTERVAL)

    background.start()
    await _until(lambda: background.rounds >= 3)
    await background.stop()

    # Each WABA's refresh fails once; then its refreshes pause and the later rounds skip it.
    assert background.failures == 2
    assert background.skips >= 4
    assert not background.running


class _FlakyStorage(InMemoryStorage):
    """In-memory storage whose list of bound WABAs fails once unexpectedly: a bug, not an outage.

    (A store that is unavailable says so with `StorageUnavailable`: `tests/unit/test_storage_outages.py`.)
    """

    failed = False

    async def all_bound_waba_ids(self) -> list[str]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("a bug in the store")
        return await super().all_bound_waba_ids()


async def test_a_round_that_fails_unexpectedly_is_logged_and_the_next_one_runs(
    provider: FakeProvider, clock: FakeClock, sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    storage = _FlakyStorage()
    snapshots = Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)
    background = BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL, sleep=sleep)

    background.start()
    await _until(lambda: background.rounds >= 1)
    await background.stop()

    assert storage.failed
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert [record.getMessage() for record in errors] == ["background sync round failed"]
    assert INTERVAL in sleep.calls  # it paused a whole interval before trying again


async def test_an_interval_of_zero_turns_the_loop_off(
    snapshots: Snapshots, storage: InMemoryStorage, clock: FakeClock, sleep: RecordingSleep
) -> None:
    background = BackgroundSync(snapshots, storage, clock, interval_seconds=0, sleep=sleep)

    background.start()

    assert not background.running
    await background.stop()
    assert sleep.calls == []


async def test_stopping_a_loop_that_never_started_does_nothing(background: BackgroundSync) -> None:
    await background.stop()

    assert not background.running


@pytest.mark.usefixtures("two_wabas")
async def test_stop_ends_the_loop_cleanly_even_in_the_middle_of_a_refresh(
    background: BackgroundSync, provider: FakeProvider, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider.latency_seconds = 10
    clock.advance(INTERVAL)
    background.start()
    await _until(lambda: provider.calls["fetch_waba"] > 2)  # a refresh is under way

    async with asyncio.timeout(1):
        await background.stop()

    assert not background.running
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_the_loop_really_runs_in_the_background_and_stops(
    accounts: AccountAdministration, storage: InMemoryStorage, provider: FakeProvider
) -> None:
    clock = SystemClock()
    snapshots = Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)
    await accounts.create("IW0001")
    await BindPhoneNumber(storage, provider, snapshots, clock)("IW0001", WABA_ID, PHONE_ID)
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="YELLOW")
    background = BackgroundSync(snapshots, storage, clock, interval_seconds=0.2)

    background.start()
    await _until(lambda: background.refreshes >= 2)
    await background.stop()
    refreshes = background.refreshes
    await asyncio.sleep(0.3)

    assert background.refreshes == refreshes
    assert [change.new for change in await storage.list_history(WABA_ID)] == ["YELLOW"]


# several instances on one store: each runs its own loop, with its own holder id


@pytest.mark.usefixtures("two_wabas")
async def test_two_instances_share_a_round_instead_of_each_refreshing_every_waba(
    snapshots: Snapshots, storage: InMemoryStorage, provider: FakeProvider, clock: FakeClock, sleep: RecordingSleep
) -> None:
    other_snapshots = Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)
    instances = [
        BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL, holder="host-a-1", sleep=sleep),
        BackgroundSync(other_snapshots, storage, clock, interval_seconds=INTERVAL, holder="host-b-1", sleep=sleep),
    ]
    provider.latency_seconds = 0.02  # both reach each WABA while its refresh is under way
    clock.advance(INTERVAL)
    before = _fetches(provider)

    await asyncio.gather(*(instance.run_round() for instance in instances))

    assert _fetches(provider) - before == 2
    assert sum(instance.refreshes for instance in instances) == 2
    assert sum(instance.skips for instance in instances) == 2


@pytest.mark.usefixtures("two_wabas")
async def test_wabas_claimed_by_an_instance_that_went_away_are_taken_over_once_the_claim_expires(
    background: BackgroundSync, storage: InMemoryStorage, provider: FakeProvider, clock: FakeClock
) -> None:
    clock.advance(INTERVAL)
    for waba_id in (WABA_ID, OTHER_WABA_ID):
        assert await storage.claim_for_sync(
            waba_id, "gone-42", until=clock.now() + timedelta(seconds=1), now=clock.now()
        )
    before = _fetches(provider)

    await background.run_round()

    assert (_fetches(provider) - before, background.refreshes, background.skips) == (0, 0, 2)
    clock.advance(2)
    await background.run_round()
    assert (_fetches(provider) - before, background.refreshes, background.skips) == (2, 2, 2)
    assert not await storage.claim_for_sync(WABA_ID, "gone-42", until=clock.now(), now=clock.now())


async def test_each_loop_has_a_holder_id_of_its_own(
    snapshots: Snapshots, storage: InMemoryStorage, clock: FakeClock
) -> None:
    first, second = (BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL) for _ in range(2))

    assert first.holder != second.holder
    assert (
        BackgroundSync(snapshots, storage, clock, interval_seconds=INTERVAL, holder="host-1-ab").holder == "host-1-ab"
    )
