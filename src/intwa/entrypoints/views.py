"""How the CLI shows recorded changes; the customers' documents are the domain's (`intwa.domain.documents`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Self

import msgspec

from intwa.domain.documents import View
from intwa.domain.models import Change, ChangeSource, TrackedField


class ChangeView(View):
    """A recorded change (SPEC §4 `history`); `phone_number_id` is None for a WABA's own fields."""

    at: Annotated[datetime, msgspec.Meta(description="RFC 3339 UTC time the change was recorded")]
    waba_id: str
    phone_number_id: str | None
    field: TrackedField
    old: str | None
    new: str | None
    source: ChangeSource

    @classmethod
    def of(cls, change: Change) -> Self:
        return cls(
            change.at.astimezone(UTC),
            change.waba_id,
            change.phone_number_id,
            change.field,
            change.old,
            change.new,
            change.source,
        )
