"""The field rules of SPEC §3.2."""

from __future__ import annotations

import pytest

from intwa.domain import validation
from intwa.domain.errors import InvalidField


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("8613312345155", "8613312345155"),
        ("+86 133 1234 5155", "8613312345155"),
        ("+62 852-1234-0016", "6285212340016"),
        ("(852) 1234-0016", "85212340016"),
        ("123456", "123456"),
        ("123456789012345", "123456789012345"),
    ],
)
def test_phone_numbers_are_kept_as_digits(raw: str, digits: str) -> None:
    assert validation.phone_number(raw) == digits


@pytest.mark.parametrize("raw", ["12345", "1234567890123456", "++8613312345155", "86+13312345155", "861331234515a", ""])
def test_bad_phone_numbers_are_rejected_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.phone_number(raw)

    assert raised.value.field == "phoneNumber"
    assert raised.value.code == 40000


@pytest.mark.parametrize("name", ["I", "IW0001", "a.b-c_d", "9" * 64])
def test_good_account_names_pass(name: str) -> None:
    assert validation.account_name(name) == name


@pytest.mark.parametrize("name", ["", "-IW", ".IW", "I W", "I" * 65, "IW\n", "ÍW"])
def test_bad_account_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidField):
        validation.account_name(name)


@pytest.mark.parametrize("value", ["", "1" * 33, "12a", "١٢٣", " 1", "12\n", "²", "１２"])
def test_bad_meta_ids_are_rejected_naming_the_field(value: str) -> None:
    with pytest.raises(InvalidField) as raised:
        validation.meta_id(value, "wabaId")

    assert raised.value.field == "wabaId"
