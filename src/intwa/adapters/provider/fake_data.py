"""The fakes' data (SPEC §5.1): WABAs and their phone numbers in Graph's field names, loaded and checked.

One `FakeGraphData` can feed both the `FakeProvider` and the fake Graph app; both read it on every call,
so a change made with `update_waba` or `update_phone` shows in the next answer of either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET

from intwa.adapters.provider.graph_nodes import GraphPhoneNumber, GraphWaba

DEMO_DATA_RESOURCE = "demo_data.json"
_META_ID = re.compile(r"[0-9]{1,32}")
_Node = TypeVar("_Node", "FakeWaba", "FakePhoneNumber")


class FakeDataError(ValueError):
    """The fake data does not match SPEC §5.1; the message names the file and the problem."""


class FakePhoneNumber(GraphPhoneNumber, frozen=True, forbid_unknown_fields=True):
    """A phone number of the fake data: any field of Graph's node, `display_phone_number` required."""

    display_phone_number: str


class FakeWaba(GraphWaba, frozen=True, forbid_unknown_fields=True):
    """A WABA of the fake data, with its phone numbers in the order Graph lists them."""

    phone_numbers: tuple[FakePhoneNumber, ...] = ()


class _FakeDataFile(msgspec.Struct, forbid_unknown_fields=True):
    wabas: list[FakeWaba]


def graph_node_fields(node: GraphWaba | GraphPhoneNumber) -> dict[str, Any]:
    """The Graph fields that the node has, as Graph would send them (edges such as `phone_numbers` left out).

    Values are strings, or nested nodes such as `health_status` that encode as Meta sends them.
    """
    node_type = GraphWaba if isinstance(node, GraphWaba) else GraphPhoneNumber
    fields = {name: getattr(node, name) for name in node_type.__struct_fields__}
    return {name: value for name, value in fields.items() if value is not UNSET}


class FakeGraphData:
    """WABAs and phone numbers that the fakes serve; changeable, for tests of what changes at Meta."""

    def __init__(self, wabas: Iterable[FakeWaba], *, source: str = "fake data") -> None:
        self.source = source
        self._wabas: dict[str, FakeWaba] = {}
        phone_owner: dict[str, str] = {}
        for index, waba in enumerate(wabas):
            _check_id(waba.id, f"wabas[{index}].id", source)
            if waba.id in self._wabas:
                raise FakeDataError(f"{source}: WABA `{waba.id}` appears twice")
            for phone_index, phone in enumerate(waba.phone_numbers):
                _check_id(phone.id, f"wabas[{index}].phone_numbers[{phone_index}].id", source)
                if phone.id in phone_owner:
                    owners = f"WABAs {phone_owner[phone.id]} and {waba.id}"
                    raise FakeDataError(f"{source}: phone number `{phone.id}` appears twice ({owners})")
                phone_owner[phone.id] = waba.id
            self._wabas[waba.id] = waba

    @property
    def wabas(self) -> tuple[FakeWaba, ...]:
        return tuple(self._wabas.values())

    def waba(self, waba_id: str) -> FakeWaba | None:
        """The WABA with this id, or None: Graph would say it does not exist."""
        return self._wabas.get(waba_id)

    def update_waba(self, waba_id: str, **graph_fields: Any) -> FakeWaba:
        """Change a WABA's Graph fields (e.g. `account_review_status="REJECTED"`); None removes a field.

        A nested field takes Graph's JSON shape, e.g. `health_status={"can_send_message": "BLOCKED", ...}`.
        """
        waba = self._existing_waba(waba_id)
        updated = _replaced(waba, graph_fields, f"WABA `{waba_id}`")
        self._wabas[waba_id] = updated
        return updated

    def update_phone(self, waba_id: str, phone_id: str, **graph_fields: Any) -> FakePhoneNumber:
        """Change a phone number's Graph fields (e.g. `quality_rating="RED"`); None removes a field."""
        waba = self._existing_waba(waba_id)
        phones = list(waba.phone_numbers)
        for index, phone in enumerate(phones):
            if phone.id == phone_id:
                phones[index] = _replaced(phone, graph_fields, f"phone number `{phone_id}`")
                self._wabas[waba_id] = msgspec.structs.replace(waba, phone_numbers=tuple(phones))
                return phones[index]
        raise FakeDataError(f"{self.source}: WABA `{waba_id}` has no phone number `{phone_id}`")

    def _existing_waba(self, waba_id: str) -> FakeWaba:
        waba = self._wabas.get(waba_id)
        if waba is None:
            raise FakeDataError(f"{self.source}: no WABA `{waba_id}`")
        return waba


def parse_fake_data(raw: bytes | str | Mapping[str, Any], source: str = "fake data") -> FakeGraphData:
    """Fake data from JSON text or an already decoded object; `FakeDataError` names `source` and the problem."""
    try:
        if isinstance(raw, bytes | str):
            decoded = msgspec.json.decode(raw, type=_FakeDataFile)
        else:
            decoded = msgspec.convert(raw, _FakeDataFile)
    except msgspec.ValidationError as error:
        raise FakeDataError(f"{source} does not match the fake data format (SPEC §5.1): {error}") from None
    except msgspec.DecodeError as error:
        raise FakeDataError(f"{source} is not valid JSON: {error}") from None
    return FakeGraphData(decoded.wabas, source=source)


def load_fake_data(path: str) -> FakeGraphData:
    """Fake data from a JSON file; an empty path means the built-in demo data."""
    if not path:
        demo = resources.files("intwa.adapters.provider").joinpath(DEMO_DATA_RESOURCE)
        return parse_fake_data(demo.read_bytes(), source=f"built-in demo data {DEMO_DATA_RESOURCE}")
    source = f"fake data file {path}"
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise FakeDataError(f"{source} does not exist") from None
    except OSError as error:
        raise FakeDataError(f"{source} cannot be read: {error.strerror}") from None
    return parse_fake_data(raw, source=source)


def _check_id(value: str, where: str, source: str) -> None:
    if not _META_ID.fullmatch(value):
        raise FakeDataError(f"{source}: `{where}` must be a string of 1-32 digits, not {value!r}")


def _replaced(node: _Node, graph_fields: Mapping[str, Any], what: str) -> _Node:
    changeable = set(type(node).__struct_fields__) - {"id", "phone_numbers"}
    fields = {name: value for name, value in msgspec.structs.asdict(node).items() if value is not UNSET}
    for name, value in graph_fields.items():
        if name not in changeable:
            raise FakeDataError(f"{what} has no changeable Graph field `{name}`")
        if value is None and name == "display_phone_number":
            raise FakeDataError(f"{what} needs a `display_phone_number`")
        if value is not None and not isinstance(value, str | Mapping):
            raise FakeDataError(f"{what}: `{name}` must be a string or a JSON object, not {value!r}")
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    # Converted whole, so a nested value (a `health_status`) is checked against Graph's shape as a file's would be.
    try:
        return msgspec.convert(msgspec.to_builtins(fields), type(node))
    except msgspec.ValidationError as error:
        raise FakeDataError(f"{what}: {error}") from None
