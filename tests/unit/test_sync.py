"""An operator's sync of bound WABAs now, and reading the history that refreshes record."""

from __future__ import annotations

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.provider.fake_data import parse_fake_data
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import AccountNotFound, InvalidField, ProviderUnavailable
from intwa.domain.history import ListHistory
from intwa.domain.models import Waba
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import SyncFailure, SyncOutcome, SyncWabas
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.conftest import MAX_STALE_SECONDS, TTL_SECONDS


@pytest.fixture
async def two_wabas(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    """IW0001 holds WABA_ID, IW0002 holds OTHER_WABA_ID; both snapshots fetched at the clock's start."""
    await accounts.create("IW0001")
    await accounts.create("IW0002")
    await bind("IW0001", WABA_ID, PHONE_ID)
    await bind("IW0002", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)


def _fetches(provider: FakeProvider) -> int:
    return provider.calls["fetch_waba"]


# SyncWabas


@pytest.mark.usefixtures("two_wabas")
async def test_sync_refreshes_every_bound_waba_and_counts_those_that_changed(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED", status="FLAGGED")
    clock.advance(5)

    report = await SyncWabas(storage, snapshots)()

    assert (report.refreshed, report.changed, report.failed) == (2, 1, 0)
    assert report.outcomes == [SyncOutcome(WABA_ID, changes=2), SyncOutcome(OTHER_WABA_ID, changes=0)]
    history = await storage.list_history(WABA_ID)
    assert {(change.field, change.old, change.new, change.source) for change in history} == {
        ("status", "CONNECTED", "FLAGGED", "sync"),
        ("qualityRating", "GREEN", "RED", "sync"),
    }
    stored = await storage.get_snapshot(OTHER_WABA_ID)
    assert stored is not None
    assert stored.fetched_at == clock.now()


@pytest.mark.usefixtures("two_wabas")
async def test_a_failing_waba_is_reported_and_the_others_are_still_refreshed(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    provider.fail_with(WABA_ID, ProviderUnavailable("Meta is unavailable"))
    provider.update_phone(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, quality_rating="RED")

    report = await SyncWabas(storage, snapshots)()

    assert (report.refreshed, report.changed, report.failed) == (1, 1, 1)
    assert report.outcomes == [
        SyncOutcome(WABA_ID, error=SyncFailure(50300, "Meta is unavailable")),
        SyncOutcome(OTHER_WABA_ID, changes=1),
    ]


@pytest.mark.usefixtures("two_wabas")
async def test_sync_of_one_account_refreshes_only_its_wabas(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    before = _fetches(provider)

    report = await SyncWabas(storage, snapshots)("IW0002")

    assert report.outcomes == [SyncOutcome(OTHER_WABA_ID)]
    assert _fetches(provider) - before == 1


async def test_sync_of_an_unknown_account_is_refused(storage: InMemoryStorage, snapshots: Snapshots) -> None:
    with pytest.raises(AccountNotFound, match="IW0009"):
        await SyncWabas(storage, snapshots)("IW0009")


async def test_sync_of_an_account_without_wabas_refreshes_nothing(
    accounts: AccountAdministration, storage: InMemoryStorage, snapshots: Snapshots
) -> None:
    await accounts.create("IW0001")

    report = await SyncWabas(storage, snapshots)("IW0001")

    assert (report.refreshed, report.changed, report.failed, report.outcomes) == (0, 0, 0, [])


@pytest.mark.usefixtures("two_wabas")
async def test_sync_tells_its_listener_the_total_and_every_outcome(
    storage: InMemoryStorage, snapshots: Snapshots
) -> None:
    totals: list[int] = []
    heard: list[SyncOutcome] = []

    report = await SyncWabas(storage, snapshots)(on_start=totals.append, on_progress=heard.append)

    assert totals == [2]
    assert sorted(heard, key=lambda outcome: outcome.waba_id) == sorted(report.outcomes, key=lambda o: o.waba_id)


class _CountingProvider(FakeProvider):
    """The fake provider, remembering how many WABA fetches were under way at once at most."""

    in_flight = 0
    most_in_flight = 0

    async def fetch_waba(self, waba_id: str) -> Waba:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            return await super().fetch_waba(waba_id)
        finally:
            self.in_flight -= 1


async def test_sync_refreshes_a_bounded_number_of_wabas_at_once(storage: InMemoryStorage, clock: FakeClock) -> None:
    ids = [(f"27899000005770{n}", f"26730000009370{n}") for n in range(9)]
    data = {
        "wabas": [
            {"id": waba_id, "name": "PT TIG", "phone_numbers": [{"id": phone_id, "display_phone_number": "+62 852"}]}
            for waba_id, phone_id in ids
        ]
    }
    provider = _CountingProvider(parse_fake_data(data), latency_seconds=0.01)
    snapshots = Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)
    bind = BindPhoneNumber(storage, provider, snapshots, clock)
    await AccountAdministration(storage, clock).create("IW0001")
    for waba_id, phone_id in ids:
        await bind("IW0001", waba_id, phone_id)
    provider.most_in_flight = 0

    report = await SyncWabas(storage, snapshots, concurrency=3)()

    assert report.refreshed == 9
    assert provider.most_in_flight == 3


# ListHistory


@pytest.mark.usefixtures("two_wabas")
async def test_history_lists_changes_oldest_first_and_filters_by_waba_or_phone(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    sync = SyncWabas(storage, snapshots)
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="YELLOW")
    clock.advance(10)
    await sync()
    provider.update_phone(OTHER_WABA_ID, OTHER_WABA_PHONE_ID, status="RESTRICTED")
    provider.update_waba(WABA_ID, name="PT TIG TECH INDONESIA")
    clock.advance(10)
    await sync()
    history = ListHistory(storage)

    everything = await history()
    assert [(change.waba_id, change.field) for change in everything] == [
        (WABA_ID, "qualityRating"),
        (WABA_ID, "wabaName"),
        (OTHER_WABA_ID, "status"),
    ]
    assert everything[0].at < everything[1].at
    assert [change.field for change in await history(WABA_ID)] == ["qualityRating", "wabaName"]
    assert [change.field for change in await history(phone_number_id=OTHER_WABA_PHONE_ID)] == ["status"]
    assert await history(OTHER_WABA_ID, PHONE_ID) == []


@pytest.mark.parametrize(("waba_id", "phone_number_id", "field"), [("27899x", None, "--waba"), (None, "", "--phone")])
async def test_history_refuses_an_invalid_id(
    storage: InMemoryStorage, waba_id: str | None, phone_number_id: str | None, field: str
) -> None:
    with pytest.raises(InvalidField) as raised:
        await ListHistory(storage)(waba_id, phone_number_id)

    assert raised.value.field == field
