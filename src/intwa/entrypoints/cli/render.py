"""How the CLI shows data: one JSON document shaped like the HTTP API's `data`, or an aligned table.

Imported lazily by the commands: it needs msgspec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import ClassVar, Literal

import click
import msgspec

from intwa.domain.documents import BindingView, HealthIssueView, PhoneNumberView, View, WabaView
from intwa.domain.models import AccountSummary, NewApiKey, WebhookEvent
from intwa.domain.sync import SyncOutcome, SyncReport
from intwa.entrypoints.views import ChangeView


class Row(View):
    """One item of a command's output; its fields are the JSON keys, `HEADERS` and `cells` the table."""

    HEADERS: ClassVar[tuple[str, ...]] = ()

    def cells(self) -> tuple[str, ...]:
        raise NotImplementedError


class AccountRow(Row):
    HEADERS = ("NAME", "STATUS", "WABAS", "BINDINGS", "CREATED")

    account_name: str
    enabled: bool
    waba_count: int
    binding_count: int
    created_at: datetime

    @classmethod
    def of(cls, account: AccountSummary) -> AccountRow:
        return cls(account.name, account.enabled, account.waba_count, account.binding_count, _utc(account.created_at))

    def cells(self) -> tuple[str, ...]:
        status = "enabled" if self.enabled else "disabled"
        return (self.account_name, status, str(self.waba_count), str(self.binding_count), _table_time(self.created_at))


class ApiKeyRow(Row):
    HEADERS = ("ACCOUNT", "API KEY")

    account_name: str
    api_key: str

    @classmethod
    def of(cls, new_key: NewApiKey) -> ApiKeyRow:
        return cls(new_key.account_name, new_key.api_key)

    def cells(self) -> tuple[str, ...]:
        return (self.account_name, self.api_key)


class RotatedKeyRow(ApiKeyRow):
    """`account rotate-key --keep-old-for`: the new key, and the last moment an older key works (null: none)."""

    old_keys_valid_until: datetime | None = None

    @classmethod
    def of(cls, new_key: NewApiKey) -> RotatedKeyRow:
        until = new_key.old_keys_valid_until
        return cls(new_key.account_name, new_key.api_key, None if until is None else _utc(until))

    def until_text(self) -> str:
        """The older keys' end as the tables show times, or `-`."""
        return "-" if self.old_keys_valid_until is None else _table_time(self.old_keys_valid_until)


class BindingRow(BindingView, Row):
    HEADERS = ("ACCOUNT", "WABA ID", "PHONE NUMBER ID", "PHONE NUMBER", "BOUND AT")

    def cells(self) -> tuple[str, ...]:
        return (self.account_name, self.waba_id, self.phone_number_id, self.phone_number, _table_time(self.bound_at))


class PhoneNumberRow(PhoneNumberView, Row):
    HEADERS = ("ID", "DISPLAY PHONE NUMBER", "VERIFIED NAME", "STATUS", "QUALITY", "MESSAGE LIMIT", "CAN SEND", "ISSUE")

    def cells(self) -> tuple[str, ...]:
        return (
            self.id,
            self.display_phone_number,
            self.verified_name,
            self.status,
            self.quality_rating,
            self.message_limit,
            self.can_send_message,
            issue_cell(self.can_send_message, self.health_issues),
        )


class WabaRow(WabaView, Row):
    HEADERS = ("WABA ID", "NAME", "STATUS", "ACCESSIBLE", "CAN SEND", "ISSUE")

    def cells(self) -> tuple[str, ...]:
        return (
            self.waba_id,
            self.waba_name,
            self.waba_status,
            "yes" if self.accessible else "no",
            self.can_send_message,
            issue_cell(self.can_send_message, self.health_issues),
        )


ISSUE_WIDTH = 48
"""How much of Meta's description, and of its fix, a table shows; `--json` has all of it."""
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def issue_cell(verdict: str, issues: Sequence[HealthIssueView]) -> str:
    """The issue behind the verdict in a line: `141006 <what is wrong> → fix: <what to do>`, and how many more.

    The first issue of an entity with the overall verdict is shown (a number blocked by its WABA shows the
    WABA's error, not a limitation of the business portfolio), else the first; `-` when there is none. A long
    description keeps its first sentence, a long fix its last: Meta states the problem first, and its fixes
    restate the problem before saying what to do.
    """
    if not issues:
        return "-"
    issue = next((issue for issue in issues if issue.can_send_message == verdict), issues[0])
    code = "" if issue.error_code is None else f"{issue.error_code} "
    cell = code + (shortened(issue.description, ISSUE_WIDTH, keep="first") or "(no description)")
    if issue.possible_solution:
        cell += f" → fix: {shortened(issue.possible_solution, ISSUE_WIDTH, keep='last')}"
    if len(issues) > 1:
        cell += f" (+{len(issues) - 1} more)"
    return cell


def shortened(text: str, width: int, *, keep: Literal["first", "last"] = "first") -> str:
    """The text on one line within `width` characters: whole if it fits, else its first (or last) sentence, else cut.

    What is left out is marked `…`; a cut falls on a word boundary.
    """
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:
        if keep == "first" and len(sentences[0]) < width:
            return sentences[0].rstrip(".") + "…"
        if keep == "last" and len(sentences[-1]) < width:
            return "…" + sentences[-1]
    cut = text[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


class ChangeRow(ChangeView, Row):
    HEADERS = ("AT", "WABA ID", "PHONE NUMBER ID", "FIELD", "OLD", "NEW", "SOURCE")

    def cells(self) -> tuple[str, ...]:
        return (
            _table_time(self.at),
            self.waba_id,
            self.phone_number_id or "-",
            self.field,
            _or_dash(self.old),
            _or_dash(self.new),
            self.source,
        )


class WebhookEventRow(Row):
    """A kept Meta webhook event (SPEC §4 `webhook-events`): `value` is the change's value as Meta sent it."""

    HEADERS = ("RECEIVED AT", "WABA ID", "FIELD", "EVENT")

    received_at: datetime
    waba_id: str | None
    field: str
    event: str | None
    value: msgspec.Raw

    @classmethod
    def of(cls, event: WebhookEvent) -> WebhookEventRow:
        return cls(_utc(event.received_at), event.waba_id, event.field, event.event, msgspec.Raw(event.payload))

    def cells(self) -> tuple[str, ...]:
        return (_table_time(self.received_at), self.waba_id or "-", self.field, _or_dash(self.event))


class SyncErrorView(View):
    code: int
    message: str


class SyncedWabaView(View):
    waba_id: str
    changes: int
    error: SyncErrorView | None

    @classmethod
    def of(cls, outcome: SyncOutcome) -> SyncedWabaView:
        error = outcome.error
        return cls(
            outcome.waba_id, outcome.changes, None if error is None else SyncErrorView(error.code, error.message)
        )


class SyncReportView(View):
    """`intwa sync --json`: the counts, then one item per WABA in the order of first binding."""

    refreshed: int
    changed: int
    failed: int
    wabas: list[SyncedWabaView]

    @classmethod
    def of(cls, report: SyncReport) -> SyncReportView:
        wabas = [SyncedWabaView.of(outcome) for outcome in report.outcomes]
        return cls(report.refreshed, report.changed, report.failed, wabas)

    def summary(self) -> str:
        return f"refreshed {self.refreshed}, changed {self.changed}, failed {self.failed}"

    def failures(self) -> list[str]:
        return [
            f"WABA {waba.waba_id}: error {waba.error.code}: {' '.join(waba.error.message.split())}"
            for waba in self.wabas
            if waba.error is not None
        ]


def show(rows: Sequence[Row], *, as_json: bool, empty: str) -> None:
    """Print a list: a JSON array, or a table (or `empty` when there is nothing to show)."""
    if as_json:
        click.echo(msgspec.json.encode(rows))
    elif rows:
        click.echo(table(rows[0].HEADERS, [row.cells() for row in rows]))
    else:
        click.echo(empty)


def show_one(row: Row, *, as_json: bool, title: str) -> None:
    """Print one item: a JSON object, or `title` above a one-row table."""
    if as_json:
        click.echo(msgspec.json.encode(row))
    else:
        click.echo(title)
        click.echo(table(row.HEADERS, [row.cells()]))


def show_sync_report(report: SyncReport, *, as_json: bool) -> None:
    """Print a sync's report: a JSON object, or its summary line and, on stderr, a line per failed WABA."""
    view = SyncReportView.of(report)
    if as_json:
        click.echo(msgspec.json.encode(view))
        return
    click.echo(view.summary())
    for line in view.failures():
        click.echo(line, err=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain-text columns separated by two spaces, as wide as their widest cell; never wrapped."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = (
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)) for line in (headers, *rows)
    )
    return "\n".join(line.rstrip() for line in lines)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def _table_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _or_dash(value: str | None) -> str:
    return "-" if value is None else value


TomlValue = bool | int | float | str | Sequence[bool | int | float | str]


def toml_document(tables: Mapping[str, Mapping[str, TomlValue]]) -> str:
    """Tables of plain values (and arrays of them) as a TOML document that `tomllib` reads back to the same values."""
    return "\n".join(
        "\n".join([f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items()), ""])
        for name, values in tables.items()
    )


def _toml_value(value: TomlValue) -> str:
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped too.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
