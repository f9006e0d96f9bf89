"""Meta's `health_status` of a phone number or WABA as Graph sends it, and what intwa reads from it (SPEC §3.4, §6).

Meta computes the verdict when it is read; it comes with the node's other fields, never from a call of its own.
Every field is optional here: Meta adds and drops fields without notice, and a verdict it does not give reads
`UNKNOWN`, never an error.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from intwa.domain.models import UNKNOWN, HealthIssue

AVAILABLE = "AVAILABLE"
"""The verdict of an entity that meets all of Meta's requirements: it has no issue to show."""

_Default = TypeVar("_Default", str, None)


class GraphHealthError(msgspec.Struct, frozen=True):
    """Why an entity is blocked. Meta sends `error_code` as an integer; resellers have re-sent it as a string."""

    error_code: int | str | UnsetType | None = UNSET
    error_description: str | UnsetType | None = UNSET
    possible_solution: str | UnsetType | None = UNSET


class GraphHealthEntity(msgspec.Struct, frozen=True):
    """One node that messaging from the number or WABA involves: `PHONE_NUMBER`, `WABA`, `BUSINESS`, `APP`.

    `can_receive_call_sip` is calling, not messaging: kept so the fakes serve it as Meta does, never read.
    """

    entity_type: str | UnsetType | None = UNSET
    id: str | UnsetType | None = UNSET
    can_send_message: str | UnsetType | None = UNSET
    can_receive_call_sip: str | UnsetType | None = UNSET
    errors: tuple[GraphHealthError, ...] | UnsetType | None = UNSET
    additional_info: tuple[str, ...] | UnsetType | None = UNSET


class GraphHealthStatus(msgspec.Struct, frozen=True):
    """`health_status`: Meta's overall messaging verdict and the entities it took in."""

    can_send_message: str | UnsetType | None = UNSET
    entities: tuple[GraphHealthEntity, ...] | UnsetType | None = UNSET


def health_of(status: GraphHealthStatus | UnsetType | None) -> tuple[str, tuple[HealthIssue, ...]]:
    """Meta's overall verdict, as given, and the issues of the entities that are not `AVAILABLE`.

    The verdict is not recomputed from the entities: Meta's own example of a number that cannot receive SIP
    calls has every entity available for messaging and the overall verdict `BLOCKED`, and intwa passes Meta's
    word on. An entity's errors each make an issue, then each line of its additional information (no error
    code, no solution); an entity with a verdict but neither makes one issue with an empty description, so a
    blocked entity never goes unnamed. Errors of an available entity concern calling and are left out.
    """
    if not isinstance(status, GraphHealthStatus):
        return UNKNOWN, ()
    issues: list[HealthIssue] = []
    for entity in _items(status.entities):
        verdict = _text(entity.can_send_message, UNKNOWN)
        if verdict == AVAILABLE:
            continue
        entity_type, entity_id = _text(entity.entity_type, UNKNOWN), _text(entity.id, "")
        errors, notes = _items(entity.errors), _items(entity.additional_info)
        issues.extend(
            HealthIssue(
                entity_type,
                entity_id,
                verdict,
                _error_code(error.error_code),
                _text(error.error_description, ""),
                _text(error.possible_solution, None),
            )
            for error in errors
        )
        issues.extend(HealthIssue(entity_type, entity_id, verdict, None, note) for note in notes)
        if not errors and not notes and verdict != UNKNOWN:
            issues.append(HealthIssue(entity_type, entity_id, verdict, None, ""))
    return _text(status.can_send_message, UNKNOWN), tuple(issues)


_Item = TypeVar("_Item")


def _items(value: tuple[_Item, ...] | UnsetType | None) -> tuple[_Item, ...]:
    return value if isinstance(value, tuple) else ()


def _text(value: str | UnsetType | None, default: _Default) -> str | _Default:
    return value if isinstance(value, str) else default


def _error_code(value: int | str | UnsetType | None) -> int | None:
    """Meta's integer code; a code re-sent as a string of digits is read as the integer it spells."""
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None
