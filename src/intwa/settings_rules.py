"""What a setting accepts, read from its annotation, and the words that say a value is wrong (SPEC §5).

A setting's ranges are declared once, as `msgspec.Meta` on its field, and msgspec enforces them when the
settings are decoded. The rules here read the same annotation first, so that a wrong value is refused in an
operator's words (`server.port` must be between 1 and 65535) rather than msgspec's (`$.server.port`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import urlsplit

import msgspec

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_SHOWN_CHARACTERS = 80

# The oldest Graph API version intwa can read phone numbers' messaging limits from.
MIN_GRAPH_API_VERSION = (24, 0)
_GRAPH_API_VERSION = re.compile(r"v([0-9]+)\.([0-9]+)")


class WrongType(ValueError):
    """A value of another type than its key's; the message says what was expected."""


class OutOfRule(ValueError):
    """A value of the right type that its key refuses; the message completes "`section.key` …"."""


@dataclass(frozen=True)
class Check:
    """A rule of one key beyond its type and range: `complaint` says what is wrong with a value, or None."""

    complaint: Callable[[Any], str | None]


@dataclass(frozen=True)
class Rule:
    """What one key accepts: its type, its range, its choices, its own checks; and whether it is a secret.

    A list (a tuple field: TOML's array) has the rule of its items in `item`, and its own length in `meta`.
    A field whose type is not a plain `bool`, `int`, `float`, `str` or such a list holds a secret: a string
    that the settings' decoder wraps and that no message ever shows.
    """

    key: str
    type_: type
    meta: msgspec.Meta | None = None
    choices: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    item: Rule | None = None

    @classmethod
    def of(cls, key: str, annotation: Any) -> Rule:
        metas: tuple[Any, ...] = ()
        if get_origin(annotation) is Annotated:
            annotation, *extras = get_args(annotation)
            metas = tuple(extras)
        meta = next((item for item in metas if isinstance(item, msgspec.Meta)), None)
        checks = tuple(item for item in metas if isinstance(item, Check))
        if get_origin(annotation) is Literal:
            return cls(key, str, meta, tuple(get_args(annotation)), checks)
        if get_origin(annotation) is tuple:
            return cls(key, list, meta, (), checks, cls.of(key, get_args(annotation)[0]))
        return cls(key, annotation, meta, (), checks)

    @property
    def secret(self) -> bool:
        return self.type_ not in (bool, int, float, str, list)

    def check(self, value: Any) -> Any:
        """The value a TOML file gave, in its canonical form; `WrongType` or `OutOfRule` if it is refused."""
        if self.item is not None:
            return self._check_items(self.item, value)
        if not self._has_type(value):
            raise WrongType(f"must be {self._expected(env=False)}, got {self._shown(value)}")
        if self.choices:
            return self._canonical(value)
        self._check_rules(value)
        return value

    def parse(self, text: str) -> Any:
        """The value an environment variable gave, parsed as the key's type and checked like a file's.

        A list is written comma-separated (`5,300,1800`) or as a JSON array (`[5, 300, 1800]`).
        """
        try:
            value = self._parsed(text)
            if self.item is not None and not self._has_type(value):
                raise ValueError(text)
        except ValueError:
            got = "" if self.secret else f", got `{_clipped(text)}`"
            raise WrongType(f"expected {self._expected(env=True)}{got}") from None
        return self.check(value)

    def _check_items(self, item: Rule, value: Any) -> list[Any]:
        """A list's items checked by their rule, then its length: the first wrong item is named by its place."""
        if not isinstance(value, list):
            raise WrongType(f"must be {self._expected(env=False)}, got {self._shown(value)}")
        for place, element in enumerate(value, 1):
            if not item._has_type(element):
                raise WrongType(f"must be {self._expected(env=False)}, but item {place} is {item._shown(element)}")
        if self.meta is not None and self.meta.min_length and len(value) < self.meta.min_length:
            raise OutOfRule("must not be empty")
        for place, element in enumerate(value, 1):
            try:
                item._check_rules(element)
            except OutOfRule as error:
                raise OutOfRule(f"item {place} {error}") from None
        return value

    def _has_type(self, value: Any) -> bool:
        if self.item is not None:
            return isinstance(value, list) and all(self.item._has_type(element) for element in value)
        if self.type_ is float:
            return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if self.type_ is int:
            return isinstance(value, int) and not isinstance(value, bool)
        if self.type_ is bool:
            return isinstance(value, bool)
        return isinstance(value, str)

    def _parsed(self, text: str) -> Any:
        word = text.strip()
        if self.item is not None:
            if word.startswith("["):
                return json.loads(word)  # its error is a ValueError; the items' types are checked by the caller
            return [self.item._parsed(part) for part in word.split(",")] if word else []
        if self.type_ is bool:
            if word.lower() in _TRUE | _FALSE:
                return word.lower() in _TRUE
            raise ValueError(text)
        if self.type_ is int:
            if _INTEGER.fullmatch(word):
                return int(word)
            raise ValueError(text)
        if self.type_ is float:
            number = float(word)
            if math.isfinite(number):
                return number
            raise ValueError(text)
        if self.choices:
            self._canonical(word)  # raises ValueError (as WrongType) when it is none of them
            return word
        return text

    def _expected(self, *, env: bool) -> str:
        if self.item is not None:
            items = {int: "integers", float: "numbers"}.get(self.item.type_, "strings")
            return (
                f"a list of {items}, comma-separated (`5,300`) or a JSON array (`[5, 300]`)"
                if env
                else f"an array of {items}"
            )
        if self.choices:
            return "one of " + ", ".join(f'"{choice}"' for choice in self.choices)
        if self.type_ is bool:
            return "a boolean (true/false/1/0/yes/no)" if env else "a boolean (true or false)"
        return {int: "an integer", float: "a number"}.get(self.type_, "a string")

    def _canonical(self, value: str) -> str:
        # Enum values are matched without regard to case and kept in their canonical spelling.
        for choice in self.choices:
            if value.casefold() == choice.casefold():
                return choice
        raise WrongType(f"must be {self._expected(env=False)}, got {self._shown(value)}")

    def _check_rules(self, value: Any) -> None:
        meta = self.meta
        if meta is not None and isinstance(value, int | float) and not _in_range(value, meta):
            raise OutOfRule(f"must be {range_words(meta)}, got {_number(value)}")
        if meta is not None and isinstance(value, str) and meta.min_length and len(value) < meta.min_length:
            raise OutOfRule(
                "must not be empty" if meta.min_length == 1 else f"must have at least {meta.min_length} characters"
            )
        for check in self.checks:
            complaint = check.complaint(value)
            if complaint is not None:
                raise OutOfRule(complaint)

    def _shown(self, value: Any) -> str:
        """A value as a message may show it: as TOML writes it, cut short; a secret's never."""
        if self.secret or not isinstance(value, bool | int | float | str):
            return _kind(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return _clipped(json.dumps(value, ensure_ascii=False))
        return _clipped(_number(value))


def range_words(meta: msgspec.Meta) -> str:
    """A `Meta`'s bounds in words: "between 1 and 65535", "greater than 0", "at least 0 and at most 10"."""
    if meta.ge is not None and meta.le is not None:
        return f"between {_number(meta.ge)} and {_number(meta.le)}"
    words = []
    if meta.ge is not None:
        words.append(f"at least {_number(meta.ge)}")
    if meta.gt is not None:
        words.append(f"greater than {_number(meta.gt)}")
    if meta.le is not None:
        words.append(f"at most {_number(meta.le)}")
    if meta.lt is not None:
        words.append(f"less than {_number(meta.lt)}")
    return " and ".join(words)


def graph_api_version(value: str) -> str | None:
    """`vNN.N`, and no older than the first version with the messaging-limit field that intwa reads."""
    match = _GRAPH_API_VERSION.fullmatch(value)
    if match is None:
        return f'must look like vNN.N (e.g. "v25.0"), got {_clipped(json.dumps(value, ensure_ascii=False))}'
    major, minor = MIN_GRAPH_API_VERSION
    if (int(match[1]), int(match[2])) < MIN_GRAPH_API_VERSION:
        return (
            f"{value} is too old: intwa needs v{major}.{minor} or later (the messaging-limit field "
            f"`whatsapp_business_manager_messaging_limit` does not exist before v{major}.{minor})"
        )
    return None


def http_url(value: str) -> str | None:
    """An http(s) URL with a host and nothing after its path, to which intwa appends the API version."""
    try:
        parts = urlsplit(value)
        usable = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not (parts.query or parts.fragment)
            and parts.port != 0
        )
    except ValueError:  # a port that is not a number
        usable = False
    if usable:
        return None
    shown = _clipped(json.dumps(value, ensure_ascii=False))
    return f'must be an http(s) URL such as "https://graph.facebook.com", got {shown}'


def _in_range(value: float, meta: msgspec.Meta) -> bool:
    return not (
        (meta.ge is not None and value < meta.ge)
        or (meta.gt is not None and value <= meta.gt)
        or (meta.le is not None and value > meta.le)
        or (meta.lt is not None and value >= meta.lt)
    )


def _kind(value: Any) -> str:
    """What a value is, for messages that do not show it."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if isinstance(value, float) else "an integer"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    return "an array" if isinstance(value, list) else "a date or time"


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clipped(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARACTERS else text[: _SHOWN_CHARACTERS - 1] + "…"
