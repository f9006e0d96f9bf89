"""How the CLI shows data: one JSON document shaped like the HTTP API's `data`, or an aligned table.

Imported lazily by the commands: it needs msgspec.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import click
import msgspec

from intwa.domain.models import AccountSummary, Binding, NewApiKey, PhoneNumber, Waba


class Row(msgspec.Struct, rename="camel", frozen=True):
    """One item of a command's output; its fields are the JSON keys, `HEADERS` and `cells` the table."""

    HEADERS: ClassVar[tuple[str, ...]] = ()

    def cells(self) -> tuple[str, ...]:
        raise NotImplementedError


class AccountRow(Row, frozen=True):
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


class ApiKeyRow(Row, frozen=True):
    HEADERS = ("ACCOUNT", "API KEY")

    account_name: str
    api_key: str

    @classmethod
    def of(cls, new_key: NewApiKey) -> ApiKeyRow:
        return cls(new_key.account_name, new_key.api_key)

    def cells(self) -> tuple[str, ...]:
        return (self.account_name, self.api_key)


class BindingRow(Row, frozen=True):
    HEADERS = ("ACCOUNT", "WABA ID", "PHONE NUMBER ID", "PHONE NUMBER", "BOUND AT")

    account_name: str
    waba_id: str
    phone_number_id: str
    phone_number: str
    bound_at: datetime

    @classmethod
    def of(cls, binding: Binding) -> BindingRow:
        return cls(
            binding.account_name,
            binding.waba_id,
            binding.phone_number_id,
            binding.phone_number,
            _utc(binding.bound_at),
        )

    def cells(self) -> tuple[str, ...]:
        return (self.account_name, self.waba_id, self.phone_number_id, self.phone_number, _table_time(self.bound_at))


class PhoneNumberRow(Row, frozen=True):
    HEADERS = ("ID", "DISPLAY PHONE NUMBER", "VERIFIED NAME", "STATUS", "QUALITY", "MESSAGE LIMIT")

    id: str
    display_phone_number: str
    verified_name: str
    status: str
    quality_rating: str
    message_limit: str

    @classmethod
    def of(cls, phone: PhoneNumber) -> PhoneNumberRow:
        return cls(
            phone.id,
            phone.display_phone_number,
            phone.verified_name,
            phone.status,
            phone.quality_rating,
            phone.messaging_limit,
        )

    def cells(self) -> tuple[str, ...]:
        return (
            self.id,
            self.display_phone_number,
            self.verified_name,
            self.status,
            self.quality_rating,
            self.message_limit,
        )


class WabaRow(Row, frozen=True):
    HEADERS = ("WABA ID", "NAME", "STATUS")

    waba_id: str
    waba_name: str
    waba_status: str

    @classmethod
    def of(cls, waba: Waba) -> WabaRow:
        return cls(waba.id, waba.name, waba.review_status)

    def cells(self) -> tuple[str, ...]:
        return (self.waba_id, self.waba_name, self.waba_status)


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
