"""The pull feed (SPEC §3.10): an account's events in order, paged with `after` and `limit`, kept for the retention."""

from __future__ import annotations

from datetime import timedelta

import pytest

from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.errors import InvalidField
from intwa.domain.feed import MAX_LIMIT, ReadEvents
from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage

RETENTION_DAYS = 7


@pytest.fixture
def read_events(storage: InMemoryStorage, clock: FakeClock) -> ReadEvents:
    return ReadEvents(storage, clock, retention_days=RETENTION_DAYS)


@pytest.fixture
async def four_events(accounts: AccountAdministration, bind: BindPhoneNumber, storage: InMemoryStorage) -> list[str]:
    """The ids of four events of IW0001: three bindings and an unbinding."""
    await accounts.create("IW0001")
    await accounts.create("IW0002")
    await bind("IW0001", WABA_ID, PHONE_ID)
    await bind("IW0001", WABA_ID, SECOND_PHONE_ID)
    await bind("IW0001", OTHER_WABA_ID, OTHER_WABA_PHONE_ID)
    await UnbindPhoneNumber(storage)("IW0001", WABA_ID, SECOND_PHONE_ID)
    return [event.id for event in storage.events]


async def test_the_feed_gives_the_events_oldest_first_and_where_to_read_on(
    read_events: ReadEvents, four_events: list[str]
) -> None:
    first = await read_events("IW0001", limit=3)
    second = await read_events("IW0001", first.next, limit=3)
    third = await read_events("IW0001", second.next)

    assert [event.id for event in first.events] == four_events[:3]
    assert first.next == four_events[2]
    assert [event.id for event in second.events] == four_events[3:]
    assert (third.events, third.next) == ([], four_events[3])


async def test_an_account_without_events_reads_nothing_and_nowhere_to_go_on_from(
    read_events: ReadEvents, four_events: list[str]
) -> None:
    page = await read_events("IW0002")

    assert (page.events, page.next) == ([], None)


@pytest.mark.parametrize("limit", [1, MAX_LIMIT])
async def test_a_limit_from_1_to_500_is_taken(read_events: ReadEvents, four_events: list[str], limit: int) -> None:
    assert len((await read_events("IW0001", limit=limit)).events) == min(limit, 4)


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1, 10.5, float("inf"), float("nan")])
async def test_a_limit_out_of_range_is_refused_naming_limit(read_events: ReadEvents, limit: int) -> None:
    with pytest.raises(InvalidField) as refused:
        await read_events("IW0001", limit=limit)

    assert (refused.value.code, refused.value.field) == (40000, "limit")
    assert "a whole number between 1 and 500" in refused.value.message


@pytest.mark.parametrize(
    "after", ["", "evt_", "evt_01m8e41epv21pahf04ganh11at", "01M8E41EPV21PAHF04GANH11AT", "x" * 30]
)
async def test_an_after_that_is_no_event_id_is_refused_naming_after(read_events: ReadEvents, after: str) -> None:
    with pytest.raises(InvalidField, match="`after` must be an event id"):
        await read_events("IW0001", after)


async def test_an_unknown_after_and_another_accounts_event_get_the_same_refusal(
    read_events: ReadEvents, four_events: list[str]
) -> None:
    with pytest.raises(InvalidField) as unknown:
        await read_events("IW0002", "evt_01M8E41EPV21PAHF04GANH11AT")
    with pytest.raises(InvalidField) as theirs:
        await read_events("IW0002", four_events[0])

    assert unknown.value.field == theirs.value.field == "after"
    assert unknown.value.message.replace("evt_01M8E41EPV21PAHF04GANH11AT", "ID") == theirs.value.message.replace(
        four_events[0], "ID"
    )
    assert "IW0001" not in theirs.value.message


async def test_events_older_than_the_retention_are_not_read_nor_a_place_to_read_on_from(
    read_events: ReadEvents, four_events: list[str], clock: FakeClock, bind: BindPhoneNumber
) -> None:
    clock.advance(timedelta(days=RETENTION_DAYS, seconds=1).total_seconds())
    await bind("IW0001", WABA_ID, SECOND_PHONE_ID)

    page = await read_events("IW0001")
    with pytest.raises(InvalidField, match="older than 7 days"):
        await read_events("IW0001", four_events[0])

    assert [event.type for event in page.events] == ["binding.created"]
