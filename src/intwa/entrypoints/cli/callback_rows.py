"""How `intwa callback ...` shows a callback: the HTTP API's `data` as JSON, or a one-row table.

Imported lazily by the commands: it needs msgspec.
"""

from __future__ import annotations

from datetime import UTC, datetime

from intwa.entrypoints.callback_views import CallbackInfoView, CallbackTestView, CallbackView
from intwa.entrypoints.cli.render import Row


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _types(types: list[str] | None) -> str:
    return "all" if types is None else ",".join(types)


class CallbackRow(CallbackView, Row):
    HEADERS = ("URL", "TYPES", "ENABLED", "CREATED", "SECRET")

    def cells(self) -> tuple[str, ...]:
        enabled = "yes" if self.enabled else "no"
        return (self.url, _types(self.types), enabled, _time(self.created_at), self.secret or "-")


class CallbackInfoRow(CallbackInfoView, Row):
    HEADERS = ("URL", "TYPES", "ENABLED", "PENDING", "FAILING", "LAST DELIVERY")

    def cells(self) -> tuple[str, ...]:
        last = "-"
        if self.last_delivery is not None:
            outcome = self.last_delivery.error or str(self.last_delivery.status)
            last = f"{_time(self.last_delivery.at)} {outcome}"
        enabled = "yes" if self.enabled else "no"
        return (self.url, _types(self.types), enabled, str(self.pending), str(self.failing), last)


class CallbackTestRow(CallbackTestView, Row):
    HEADERS = ("EVENT ID", "DELIVERED", "STATUS", "ERROR")

    def cells(self) -> tuple[str, ...]:
        status = "-" if self.status is None else str(self.status)
        return (self.event_id, "yes" if self.delivered else "no", status, self.error or "-")
