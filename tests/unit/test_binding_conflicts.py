"""The binding conflict rule (SPEC §3.3): which conflict answers first, and what is no conflict at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intwa.domain.binding_conflicts import check_binding_conflicts
from intwa.domain.errors import PhoneNumberBoundToAnotherAccount, PhoneNumberNotInWaba, WabaBoundToAnotherAccount
from intwa.domain.models import Binding

WABA, OTHER_WABA, PHONE = "278990000057661", "278990000057662", "107655329124001"


def bound(account_name: str, waba_id: str = WABA) -> Binding:
    return Binding(account_name, waba_id, PHONE, "8613312345155", datetime(2025, 1, 1, tzinfo=UTC))


def test_a_free_way_has_no_binding_to_return() -> None:
    assert check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=None, waba_owner=None) is None
    assert check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=None, waba_owner="IW0001") is None


def test_the_same_binding_made_already_is_returned() -> None:
    existing = bound("IW0001")

    assert check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=existing, waba_owner="IW0001") is existing


def test_a_phone_number_of_another_account_answers_before_its_waba() -> None:
    with pytest.raises(PhoneNumberBoundToAnotherAccount, match=f"phone number `{PHONE}` is bound to another account"):
        check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=bound("IW0002"), waba_owner="IW0002")


def test_a_waba_of_another_account_is_refused() -> None:
    with pytest.raises(WabaBoundToAnotherAccount, match=f"WABA `{WABA}` is bound to another account"):
        check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=None, waba_owner="IW0002")


@pytest.mark.parametrize("waba_owner", ["IW0001", None])
def test_a_phone_number_the_account_bound_in_another_waba_is_not_one_of_this_waba(waba_owner: str | None) -> None:
    with pytest.raises(PhoneNumberNotInWaba, match=f"`{PHONE}` is not a phone number of WABA `{WABA}`"):
        check_binding_conflicts("IW0001", WABA, PHONE, phone_binding=bound("IW0001", OTHER_WABA), waba_owner=waba_owner)
