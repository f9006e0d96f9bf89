"""The field rules of SPEC §3.2, shared by the HTTP API and the CLI."""

from __future__ import annotations

import re

from intwa.domain.errors import InvalidField

_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
_PHONE_DIGITS = re.compile(r"[0-9]{6,15}")
_PHONE_PUNCTUATION = str.maketrans("", "", " -()")


def account_name(value: str, field: str = "accountName") -> str:
    """An account name: 1–64 of `A-Z a-z 0-9 _ . -`, starting with a letter or digit."""
    if not _ACCOUNT_NAME.fullmatch(value):
        raise InvalidField(
            field,
            "must be 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-', starting with a letter or digit",
        )
    return value


def meta_id(value: str, field: str) -> str:
    """A Meta object id (`wabaId`, `phoneNumberId`): 1–32 ASCII digits."""
    # str methods rather than a regex: every phoneInfo request checks its `wabaId`.
    if not (0 < len(value) <= 32 and value.isascii() and value.isdigit()):
        raise InvalidField(field, "must be a string of 1-32 digits")
    return value


def phone_number(value: str, field: str = "phoneNumber") -> str:
    """A phone number in digits-only form, after dropping spaces, `-`, `(`, `)` and one leading `+`."""
    digits = value.translate(_PHONE_PUNCTUATION)
    if digits.startswith("+"):
        digits = digits[1:]
    if not _PHONE_DIGITS.fullmatch(digits):
        raise InvalidField(field, "must be 6-15 digits, optionally with spaces, '-', '(', ')' and a leading '+'")
    return digits


def display_number_digits(display_phone_number: str) -> str:
    """The digits of a display phone number such as `+62 852-1234-0016`."""
    return "".join(ch for ch in display_phone_number if "0" <= ch <= "9")
