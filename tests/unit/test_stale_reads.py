"""Reads while Meta is slow or down: bounded by the refresh wait; wabaInfo's list never fails for one WABA."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.errors import ProviderUnavailable, WabaNotAccessible
from intwa.domain.models import UNKNOWN, PhoneNumber, Waba, WabaUsage
from intwa.domain.queries import REFRESH_CONCURRENCY, ListPhoneNumbers, ListWabas
from intwa.domain.snapshots import Snapshots
from tests.conftest import FAKE_DATA, PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.unit.conftest import MAX_STALE_SECONDS, TTL_SECONDS

REFRESH_WAIT = 0.2
MANY = 12
"""How many WABAs the account of the list tests has: three times the refresh concurrency."""


def many_waba_ids() -> list[str]:
    return [f"27899100000{n:04d}" for n in range(MANY)]


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    data: dict[str, Any] = copy.deepcopy(FAKE_DATA)
    template = data["wabas"][0]
    for n, waba_id in enumerate(many_waba_ids()):
        waba = copy.deepcopy(template)
        waba.update(id=waba_id, name=f"WABA {n}")
        waba["phone_numbers"] = [{**template["phone_numbers"][0], "id": f"26730100000{n:04d}"}]
        data["wabas"].append(waba)
    path = tmp_path / "fake-data.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


class InFlight:
    """Wraps the fake provider and remembers how many WABA fetches ran at once, at most."""

    def __init__(self, provider: FakeProvider) -> None:
        self._provider = provider
        self.now = 0
        self.most = 0

    async def fetch_waba(self, waba_id: str) -> Waba:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            return await self._provider.fetch_waba(waba_id)
        finally:
            self.now -= 1

    async def fetch_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        return await self._provider.fetch_phone_numbers(waba_id)

    async def subscribe_app(self, waba_id: str) -> None:
        await self._provider.subscribe_app(waba_id)

    def usage(self, waba_id: str) -> WabaUsage | None:
        return self._provider.usage(waba_id)


@pytest.fixture
def in_flight(provider: FakeProvider) -> InFlight:
    return InFlight(provider)


@pytest.fixture
def snapshots(storage: InMemoryStorage, in_flight: InFlight, clock: FakeClock) -> Snapshots:
    return Snapshots(
        storage,
        in_flight,
        clock,
        ttl_seconds=TTL_SECONDS,
        max_stale_seconds=MAX_STALE_SECONDS,
        refresh_wait_seconds=REFRESH_WAIT,
    )


@pytest.fixture
async def bound(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    """Account IW0001 with WABA_ID and the MANY other WABAs bound, in that order."""
    await accounts.create("IW0001")
    await bind("IW0001", WABA_ID, PHONE_ID)
    for n, waba_id in enumerate(many_waba_ids()):
        await bind("IW0001", waba_id, f"26730100000{n:04d}")


async def timed(read: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await read
    return result, time.perf_counter() - started


# one WABA: phoneInfo


@pytest.mark.usefixtures("bound")
async def test_a_read_with_a_servable_snapshot_waits_for_a_slow_refresh_at_most_the_refresh_wait(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    provider.latency_seconds = 30  # Meta hangs: the whole timeout and retry budget
    clock.advance(TTL_SECONDS + 1)
    phone_info = ListPhoneNumbers(storage, snapshots)

    first, first_took = await timed(phone_info("IW0001", WABA_ID))
    second, second_took = await timed(phone_info("IW0001", WABA_ID))

    assert first[0].quality_rating == "GREEN"  # the stale snapshot, answered with success
    assert REFRESH_WAIT <= first_took < REFRESH_WAIT + 0.2
    # The refresh has had its wait: later readers are answered at once while it goes on.
    assert second == first
    assert second_took < 0.05
    assert snapshots.stale_hits == 2
    await snapshots.close()


@pytest.mark.usefixtures("bound")
async def test_the_slow_refresh_goes_on_and_lands_after_the_stale_answer(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    provider.latency_seconds = REFRESH_WAIT * 2
    clock.advance(TTL_SECONDS + 1)

    stale = await ListPhoneNumbers(storage, snapshots)("IW0001", WABA_ID)
    await asyncio.sleep(REFRESH_WAIT * 2)
    fresh = await ListPhoneNumbers(storage, snapshots)("IW0001", WABA_ID)

    assert stale[0].quality_rating == "GREEN"
    assert fresh[0].quality_rating == "RED"
    assert [(c.field, c.new, c.source) for c in await storage.list_history(WABA_ID)] == [
        ("qualityRating", "RED", "request")
    ]


@pytest.mark.usefixtures("bound")
async def test_without_a_servable_snapshot_the_read_waits_for_the_refresh(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.update_phone(WABA_ID, PHONE_ID, quality_rating="RED")
    provider.latency_seconds = REFRESH_WAIT * 2
    clock.advance(MAX_STALE_SECONDS + 1)

    phones, took = await timed(ListPhoneNumbers(storage, snapshots)("IW0001", WABA_ID))

    assert phones[0].quality_rating == "RED"
    assert took >= REFRESH_WAIT * 2


@pytest.mark.usefixtures("bound")
async def test_a_failed_refresh_pauses_the_wabas_refreshes_whoever_asked_for_it(
    snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.fail_with(WABA_ID, ProviderUnavailable("Meta is down", retry_after_seconds=120))

    with pytest.raises(ProviderUnavailable):
        await snapshots.refresh(WABA_ID, source="sync")

    assert snapshots.paused_until(WABA_ID, clock.now()) == clock.now() + timedelta(seconds=120)


@pytest.mark.usefixtures("bound")
async def test_a_waba_meta_says_is_gone_is_kept_as_not_accessible_and_phone_info_is_42200_without_asking_again(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    provider.fail_with(WABA_ID, WabaNotAccessible("not shared"))
    clock.advance(TTL_SECONDS + 1)
    phone_info = ListPhoneNumbers(storage, snapshots)

    with pytest.raises(WabaNotAccessible):
        await phone_info("IW0001", WABA_ID)
    calls = provider.calls["fetch_waba"]
    with pytest.raises(WabaNotAccessible):
        await phone_info("IW0001", WABA_ID)

    assert provider.calls["fetch_waba"] == calls  # the verdict is fresh for the TTL, like any snapshot
    stored = await storage.get_snapshot(WABA_ID)
    assert stored is not None
    assert (stored.accessible, stored.waba.name, len(stored.phone_numbers)) == (False, "PT TIG TECH", 2)


# many WABAs: wabaInfo


@pytest.mark.usefixtures("bound")
async def test_the_lists_stale_wabas_are_refreshed_a_handful_at_a_time(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, in_flight: InFlight, clock: FakeClock
) -> None:
    provider.latency_seconds = 0.01
    clock.advance(TTL_SECONDS + 1)

    listed = await ListWabas(storage, snapshots)("IW0001", refresh=True)

    assert len(listed) == MANY + 1
    assert in_flight.most == REFRESH_CONCURRENCY
    assert provider.calls["fetch_waba"] == 2 * (MANY + 1)  # the binds', then the list's


@pytest.mark.usefixtures("bound")
async def test_one_wabas_error_never_fails_the_list(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    gone, down, *_ = many_waba_ids()
    provider.fail_with(gone, WabaNotAccessible("not shared"))
    provider.fail_with(down, ProviderUnavailable("Meta is down"))
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")
    clock.advance(TTL_SECONDS + 1)

    listed = await ListWabas(storage, snapshots)("IW0001")

    by_id = {item.waba.id: item for item in listed}
    assert [item.waba.id for item in listed] == [WABA_ID, *many_waba_ids()]
    assert (by_id[WABA_ID].waba.name, by_id[WABA_ID].accessible) == ("PT TIG TECH GLOBAL", True)
    assert (by_id[gone].waba.name, by_id[gone].accessible) == ("WABA 0", False)
    assert (by_id[down].waba.name, by_id[down].accessible) == ("WABA 1", True)  # stale-if-error


@pytest.mark.usefixtures("bound")
async def test_a_waba_with_neither_a_servable_snapshot_nor_an_answer_is_listed_unknown(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider, clock: FakeClock
) -> None:
    down = many_waba_ids()[1]
    provider.fail_with(down, ProviderUnavailable("Meta is down"))
    clock.advance(MAX_STALE_SECONDS + 1)

    listed = await ListWabas(storage, snapshots)("IW0001")

    [item] = [item for item in listed if item.waba.id == down]
    assert (item.waba, item.accessible) == (Waba(id=down, name=UNKNOWN, review_status=UNKNOWN), True)
    assert (item.waba.can_send_message, item.waba.health_issues, item.waba.business_verification_status) == (
        UNKNOWN,
        (),
        UNKNOWN,
    )
    assert item.refresh_error == "50300 Meta is down"
    assert len(listed) == MANY + 1


@pytest.mark.usefixtures("bound")
async def test_a_forced_refresh_of_the_list_refreshes_the_others_when_one_fails(
    storage: InMemoryStorage, snapshots: Snapshots, provider: FakeProvider
) -> None:
    down = many_waba_ids()[3]
    provider.fail_with(down, ProviderUnavailable("Meta is down"))
    provider.update_waba(WABA_ID, name="PT TIG TECH GLOBAL")

    listed = await ListWabas(storage, snapshots)("IW0001", refresh=True)

    by_id = {item.waba.id: item for item in listed}
    assert by_id[WABA_ID].waba.name == "PT TIG TECH GLOBAL"
    assert (by_id[down].waba.name, by_id[down].refresh_error) == ("WABA 3", "50300 Meta is down")
    assert [item.waba.id for item in listed if item.refresh_error] == [down]
