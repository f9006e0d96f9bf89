"""What every `Storage` backend promises about snapshots and the history of their changes (SPEC §3.7, §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from intwa.domain.errors import WabaBoundToAnotherAccount
from intwa.domain.models import Binding, Change, HealthIssue, PhoneNumber, TrackedField, Waba, WabaSnapshot
from intwa.domain.ports import Storage
from tests.adapters.storage.examples import T0, at, binding_of, create_accounts, snapshot_of

WABA = "278990000057661"
OTHER_WABA = "278990000057662"
PHONE = "267300000093634"
SECOND_PHONE = "267300000093635"
OTHER_PHONE = "267300000093636"


def snapshot(waba_id: str = WABA, *phone_ids: str, fetched_at: datetime = T0) -> WabaSnapshot:
    """A WABA whose every tracked field has a value, with the phone numbers given (PHONE and SECOND_PHONE if none)."""
    return WabaSnapshot(
        waba=Waba(id=waba_id, name="PT TIG TECH", review_status="APPROVED", can_send_message="AVAILABLE"),
        phone_numbers=tuple(
            PhoneNumber(
                id=phone_id,
                display_phone_number=f"+62 852-1234-{phone_id[-4:]}",
                verified_name="TIG Tech",
                status="CONNECTED",
                quality_rating="GREEN",
                messaging_limit="TIER_250",
                can_send_message="AVAILABLE",
                name_status="APPROVED",
            )
            for phone_id in phone_ids or (PHONE, SECOND_PHONE)
        ),
        fetched_at=fetched_at,
    )


def changed(before: WabaSnapshot, phone_id: str | None, fetched_at: datetime, **values: str) -> WabaSnapshot:
    """`before` fetched again at `fetched_at`, with new values for the WABA (phone_id None) or one of its phones."""
    if phone_id is None:
        return msgspec.structs.replace(
            before, waba=msgspec.structs.replace(before.waba, **values), fetched_at=fetched_at
        )
    phones = tuple(msgspec.structs.replace(p, **values) if p.id == phone_id else p for p in before.phone_numbers)
    return msgspec.structs.replace(before, phone_numbers=phones, fetched_at=fetched_at)


async def bound(storage: Storage, first: WabaSnapshot | None = None, account: str = "acme") -> WabaSnapshot:
    """Bind PHONE of the snapshot's WABA to the account with that snapshot; returns the snapshot."""
    first = first or snapshot()
    if await storage.get_account(account) is None:
        await create_accounts(storage, account)
    await storage.add_binding(binding_of(account, first.waba.id, first.phone_numbers[0].id), first)
    return first


# snapshots


async def test_a_snapshot_reads_back_whole_with_unicode_names_and_an_aware_fetch_time(storage: Storage) -> None:
    await bound(storage)
    snapshot = WabaSnapshot(
        waba=Waba(id=WABA, name="PT TIG TECH 🚀 株式会社", review_status="SOME_NEW_STATUS"),
        phone_numbers=(
            PhoneNumber(
                id=PHONE,
                display_phone_number="+62 852-1234-0016",
                verified_name="Ünïcødé — Пример",
                status="FLAGGED",
                quality_rating="YELLOW",
                messaging_limit="TIER_2K",
            ),
            PhoneNumber(id=SECOND_PHONE, display_phone_number="+62 852-1234-0017"),
        ),
        fetched_at=datetime(2026, 11, 27, 17, 0, 0, 654321, tzinfo=timezone(timedelta(hours=8))),
    )

    await storage.save_snapshot(snapshot, "sync")
    stored = await storage.get_snapshot(WABA)

    assert stored == snapshot
    assert stored is not None
    assert stored.fetched_at == datetime(2026, 11, 27, 9, 0, 0, 654321, tzinfo=UTC)
    assert stored.fetched_at.utcoffset() == timedelta(0)


async def test_saving_a_snapshot_replaces_the_previous_one(storage: Storage) -> None:
    await bound(storage)
    newer = snapshot_of(WABA, PHONE, SECOND_PHONE, name="PT TIG TECH (renamed)", fetched_at=at(600))

    await storage.save_snapshot(newer, "sync")

    assert await storage.get_snapshot(WABA) == newer


PAYMENT = HealthIssue(
    "WABA",
    WABA,
    "BLOCKED",
    141006,
    "There is an error with the payment method. This will block business initiated conversations.",
    "There was an error with your payment method. Please add a new payment method to the account.",
)
NAME_PENDING = HealthIssue("PHONE_NUMBER", PHONE, "LIMITED", None, "Your display name has not been approved yet.")


def with_health(before: WabaSnapshot, fetched_at: datetime) -> WabaSnapshot:
    """`before` with Meta's verdicts: the WABA blocked by its payment method, the first number also limited."""
    waba = msgspec.structs.replace(
        before.waba, can_send_message="BLOCKED", health_issues=(PAYMENT,), business_verification_status="verified"
    )
    first = msgspec.structs.replace(
        before.phone_numbers[0],
        can_send_message="BLOCKED",
        health_issues=(NAME_PENDING, PAYMENT),
        name_status="PENDING_REVIEW",
        code_verification_status="VERIFIED",
        platform_type="CLOUD_API",
        throughput_level="STANDARD",
    )
    return msgspec.structs.replace(
        before, waba=waba, phone_numbers=(first, *before.phone_numbers[1:]), fetched_at=fetched_at
    )


async def test_a_snapshot_reads_back_with_metas_verdicts_and_the_numbers_state(storage: Storage) -> None:
    first = await bound(storage)
    healthy = with_health(first, at(60))

    await storage.save_snapshot(healthy, "sync")

    assert await storage.get_snapshot(WABA) == healthy
    assert await storage.account_snapshots("acme") == [(WABA, healthy)]


async def test_a_review_decision_keeps_metas_verdicts_and_the_numbers_state(storage: Storage) -> None:
    first = await bound(storage)
    await storage.save_snapshot(with_health(first, at(60)), "sync")

    await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook")

    stored = await storage.get_snapshot(WABA)
    assert stored is not None
    expected = with_health(first, at(60))
    assert stored.waba == msgspec.structs.replace(expected.waba, review_status="REJECTED")
    assert stored.phone_numbers == expected.phone_numbers


# history


async def test_the_first_snapshot_of_a_waba_records_nothing(storage: Storage) -> None:
    await bound(storage)

    assert await storage.list_history() == []


TRACKED: list[tuple[TrackedField, str | None, str, str, str]] = [
    ("status", SECOND_PHONE, "status", "CONNECTED", "FLAGGED"),
    ("qualityRating", SECOND_PHONE, "quality_rating", "GREEN", "YELLOW"),
    ("messageLimit", SECOND_PHONE, "messaging_limit", "TIER_250", "TIER_2K"),
    ("verifiedName", SECOND_PHONE, "verified_name", "TIG Tech", "TIG Tech Indonesia"),
    ("displayPhoneNumber", SECOND_PHONE, "display_phone_number", "+62 852-1234-3635", "+62 852-9999-3635"),
    ("canSendMessage", SECOND_PHONE, "can_send_message", "AVAILABLE", "LIMITED"),
    ("nameStatus", SECOND_PHONE, "name_status", "APPROVED", "PENDING_REVIEW"),
    ("wabaName", None, "name", "PT TIG TECH", "PT TIG TECH 🚀"),
    ("wabaStatus", None, "review_status", "APPROVED", "REJECTED"),
    ("canSendMessage", None, "can_send_message", "AVAILABLE", "BLOCKED"),
]


@pytest.mark.parametrize(
    ("field", "phone_id", "attribute", "old", "new"),
    TRACKED,
    ids=[f"{t[0]}-of-{'phone' if t[1] else 'waba'}" for t in TRACKED],
)
async def test_a_change_of_each_tracked_field_is_recorded_with_old_new_source_and_fetch_time(
    storage: Storage, field: TrackedField, phone_id: str | None, attribute: str, old: str, new: str
) -> None:
    first = await bound(storage)
    jakarta = timezone(timedelta(hours=7))
    fetched_at = datetime(2026, 11, 27, 16, 0, 0, 1, tzinfo=jakarta)

    changes = await storage.save_snapshot(changed(first, phone_id, fetched_at, **{attribute: new}), "sync")

    expected = Change(datetime(2026, 11, 27, 9, 0, 0, 1, tzinfo=UTC), WABA, phone_id, field, old, new, "sync")
    assert changes == [expected]
    assert await storage.list_history() == [expected]
    assert (await storage.list_history())[0].at.utcoffset() == timedelta(0)


async def test_several_changes_are_recorded_waba_first_then_phone_numbers_in_order(storage: Storage) -> None:
    first = await bound(storage)
    renamed = changed(first, None, at(60), name="PT TIG")
    newer = changed(changed(renamed, SECOND_PHONE, at(60), status="FLAGGED"), PHONE, at(60), quality_rating="RED")

    changes = await storage.save_snapshot(newer, "request")

    assert [(c.phone_number_id, c.field, c.source, c.at) for c in changes] == [
        (None, "wabaName", "request", at(60)),
        (PHONE, "qualityRating", "request", at(60)),
        (SECOND_PHONE, "status", "request", at(60)),
    ]
    assert await storage.list_history() == changes
    assert await storage.get_snapshot(WABA) == newer


async def test_saving_the_same_changed_snapshot_twice_records_its_changes_once(storage: Storage) -> None:
    first = await bound(storage)
    flagged = changed(first, PHONE, at(60), status="FLAGGED")

    recorded = await storage.save_snapshot(flagged, "sync")
    again = await storage.save_snapshot(msgspec.structs.replace(flagged, fetched_at=at(120)), "request")

    assert again == []
    assert await storage.list_history() == recorded
    assert len(recorded) == 1


async def test_a_phone_number_added_to_or_removed_from_a_waba_is_recorded_as_phone_number(storage: Storage) -> None:
    await bound(storage, snapshot(WABA, PHONE))

    added = await storage.save_snapshot(snapshot(WABA, PHONE, SECOND_PHONE, fetched_at=at(60)), "sync")
    removed = await storage.save_snapshot(snapshot(WABA, SECOND_PHONE, fetched_at=at(120)), "webhook")

    assert added == [Change(at(60), WABA, SECOND_PHONE, "phoneNumber", None, SECOND_PHONE, "sync")]
    assert removed == [Change(at(120), WABA, PHONE, "phoneNumber", PHONE, None, "webhook")]
    assert await storage.list_history() == [*added, *removed]


async def test_numbers_added_are_recorded_in_their_place_and_numbers_removed_last(storage: Storage) -> None:
    await bound(storage, snapshot(WABA, PHONE, SECOND_PHONE))
    replaced = changed(
        snapshot(WABA, OTHER_PHONE, SECOND_PHONE, fetched_at=at(60)), SECOND_PHONE, at(60), status="FLAGGED"
    )

    changes = await storage.save_snapshot(replaced, "sync")

    assert [(change.phone_number_id, change.field, change.old, change.new) for change in changes] == [
        (OTHER_PHONE, "phoneNumber", None, OTHER_PHONE),
        (SECOND_PHONE, "status", "CONNECTED", "FLAGGED"),
        (PHONE, "phoneNumber", PHONE, None),
    ]


async def test_a_changed_snapshot_of_an_unbound_waba_is_neither_stored_nor_recorded(storage: Storage) -> None:
    first = await bound(storage)
    await storage.remove_binding("acme", WABA, PHONE)

    assert await storage.save_snapshot(changed(first, PHONE, at(60), status="FLAGGED"), "sync") == []
    assert await storage.save_snapshot(snapshot(OTHER_WABA, fetched_at=at(60)), "sync") == []

    assert await storage.get_snapshot(WABA) is None
    assert await storage.get_snapshot(OTHER_WABA) is None
    assert await storage.list_history() == []


async def test_binding_a_second_phone_number_records_what_changed_with_source_bind(storage: Storage) -> None:
    first = await bound(storage)
    newer = changed(changed(first, SECOND_PHONE, at(60), quality_rating="YELLOW"), None, at(60), name="PT TIG")

    second = binding_of("acme", WABA, SECOND_PHONE, bound_at=at(60))
    assert await storage.add_binding(second, newer) == second

    assert await storage.list_history() == [
        Change(at(60), WABA, None, "wabaName", "PT TIG TECH", "PT TIG", "bind"),
        Change(at(60), WABA, SECOND_PHONE, "qualityRating", "GREEN", "YELLOW", "bind"),
    ]
    assert await storage.get_snapshot(WABA) == newer


async def test_a_rejected_bind_neither_stores_its_snapshot_nor_records_changes(storage: Storage) -> None:
    first = await bound(storage)
    await create_accounts(storage, "rival")
    renamed = changed(first, None, at(60), name="Rival's name")

    with pytest.raises(WabaBoundToAnotherAccount):
        await storage.add_binding(binding_of("rival", WABA, SECOND_PHONE, bound_at=at(60)), renamed)

    assert await storage.get_snapshot(WABA) == first
    assert await storage.list_history() == []


async def test_setting_the_review_status_records_one_change_and_keeps_the_fetch_time(storage: Storage) -> None:
    first = await bound(storage)

    changes = await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook")
    again = await storage.set_waba_review_status(WABA, "REJECTED", at(120), "webhook")

    expected = Change(at(90), WABA, None, "wabaStatus", "APPROVED", "REJECTED", "webhook")
    assert changes == [expected]
    assert again == []
    assert await storage.list_history() == [expected]
    decided = changed(first, None, T0, review_status="REJECTED")
    assert await storage.get_snapshot(WABA) == msgspec.structs.replace(decided, review_status_at=at(90))


async def test_a_review_decision_older_than_the_snapshot_or_the_last_decision_changes_nothing(
    storage: Storage,
) -> None:
    await bound(storage, snapshot(fetched_at=at(60)))

    before_the_fetch = await storage.set_waba_review_status(WABA, "REJECTED", at(30), "webhook")
    newer = await storage.set_waba_review_status(WABA, "PENDING", at(120), "webhook")
    late = await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook")

    assert before_the_fetch == late == []
    assert newer == [Change(at(120), WABA, None, "wabaStatus", "APPROVED", "PENDING", "webhook")]
    stored = await storage.get_snapshot(WABA)
    assert stored is not None
    assert (stored.waba.review_status, stored.review_status_at) == ("PENDING", at(120))


async def test_a_refresh_that_read_meta_before_a_decision_keeps_the_decision(storage: Storage) -> None:
    await bound(storage)
    await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook")

    read_before = await storage.save_snapshot(snapshot(fetched_at=at(60)), "request")
    stored = await storage.get_snapshot(WABA)
    read_after = await storage.save_snapshot(snapshot(fetched_at=at(120)), "sync")

    assert read_before == []
    assert stored is not None
    assert (stored.waba.review_status, stored.fetched_at) == ("REJECTED", at(60))
    assert read_after == [Change(at(120), WABA, None, "wabaStatus", "REJECTED", "APPROVED", "sync")]


async def test_a_waba_meta_no_longer_answers_for_is_stored_not_accessible_and_the_change_recorded(
    storage: Storage,
) -> None:
    first = await bound(storage)
    gone = msgspec.structs.replace(first, fetched_at=at(60), accessible=False)

    lost = await storage.save_snapshot(gone, "webhook")
    stored = await storage.get_snapshot(WABA)
    back = await storage.save_snapshot(msgspec.structs.replace(first, fetched_at=at(120)), "sync")

    assert stored == gone
    assert lost == [Change(at(60), WABA, None, "accessible", "true", "false", "webhook")]
    assert back == [Change(at(120), WABA, None, "accessible", "false", "true", "sync")]


async def test_setting_the_review_status_of_an_unbound_waba_does_nothing(storage: Storage) -> None:
    await bound(storage)
    await storage.remove_binding("acme", WABA, PHONE)

    assert await storage.set_waba_review_status(WABA, "REJECTED", at(90), "webhook") == []
    assert await storage.set_waba_review_status(OTHER_WABA, "REJECTED", at(90), "webhook") == []
    assert await storage.get_snapshot(WABA) is None
    assert await storage.list_history() == []


async def test_history_is_listed_oldest_first_in_recording_order_for_equal_times(storage: Storage) -> None:
    await create_accounts(storage, "acme", "zeta")
    await bound(storage)
    other = await bound(storage, snapshot(OTHER_WABA, OTHER_PHONE), account="zeta")

    early = await storage.set_waba_review_status(WABA, "PENDING", at(30), "webhook")
    other_changes = await storage.save_snapshot(changed(other, OTHER_PHONE, at(60), status="BANNED"), "sync")
    stored = await storage.get_snapshot(WABA)
    assert stored is not None
    # The same time as `other_changes`, recorded after them: listed after them.
    tie = await storage.save_snapshot(
        changed(changed(stored, PHONE, at(60), status="FLAGGED"), SECOND_PHONE, at(60), quality_rating="RED"), "sync"
    )
    stored = await storage.get_snapshot(WABA)
    assert stored is not None
    late = await storage.save_snapshot(changed(stored, PHONE, at(120), status="CONNECTED"), "sync")

    assert await storage.list_history() == early + other_changes + tie + late
    assert await storage.list_history(waba_id=WABA) == early + tie + late
    assert await storage.list_history(phone_number_id=PHONE) == [tie[0], *late]
    assert await storage.list_history(waba_id=WABA, phone_number_id=SECOND_PHONE) == [tie[1]]
    assert await storage.list_history(waba_id=OTHER_WABA, phone_number_id=PHONE) == []
    assert await storage.list_history(waba_id="nobody") == []


async def test_history_outlives_the_binding_and_stays_when_another_account_binds_the_waba(storage: Storage) -> None:
    first = await bound(storage)
    recorded = await storage.save_snapshot(changed(first, PHONE, at(60), status="FLAGGED"), "sync")
    await storage.remove_binding("acme", WABA, PHONE)

    assert await storage.list_history(waba_id=WABA) == recorded
    await create_accounts(storage, "rival")
    rebound = await storage.add_binding(
        binding_of("rival", WABA, PHONE, bound_at=at(120)), snapshot(fetched_at=at(120))
    )

    assert rebound == Binding("rival", WABA, PHONE, "6285212340016", at(120))
    assert await storage.list_history(waba_id=WABA) == recorded  # a first snapshot again: nothing new


def _with_quality(base: WabaSnapshot, quality: str, fetched_at: datetime) -> WabaSnapshot:
    phones = tuple(msgspec.structs.replace(phone, quality_rating=quality) for phone in base.phone_numbers)
    return msgspec.structs.replace(base, phone_numbers=phones, fetched_at=fetched_at)


async def test_a_snapshot_older_than_the_stored_one_is_not_stored(storage: Storage) -> None:
    await create_accounts(storage, "IW0001")
    await storage.add_binding(binding_of("IW0001", WABA, PHONE), snapshot(WABA, PHONE))
    newer = _with_quality(snapshot(WABA, PHONE), "RED", T0 + timedelta(seconds=10))
    older = _with_quality(snapshot(WABA, PHONE), "YELLOW", T0 + timedelta(seconds=5))

    await storage.save_snapshot(newer, "sync")
    late = await storage.save_snapshot(older, "request")

    assert late == []
    assert await storage.get_snapshot(WABA) == newer
    assert [change.new for change in await storage.list_history(WABA)] == ["RED"]
