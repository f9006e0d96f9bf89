"""A provider that answers from fake data instead of Meta: for the offline demo and for tests."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from intwa.adapters.provider.fake_data import (
    FakeGraphData,
    FakePhoneNumber,
    FakeWaba,
    graph_node_fields,
    load_fake_data,
)
from intwa.adapters.provider.graph_nodes import PHONE_NUMBER_FIELDS, GraphPhoneNumber
from intwa.domain.errors import DomainError, WabaNotAccessible
from intwa.domain.models import PhoneNumber, Waba, WabaUsage


class FakeProvider:
    """`MetaProvider` over `FakeGraphData` (SPEC §5.1), translating nodes exactly as the Graph adapter does.

    A WABA missing from the data does not exist, as Graph's error 100/33 says. Tests can count calls
    (`calls`), see subscriptions (`subscribed`), make calls fail (`fail_with`), change the data
    (`update_waba`, `update_phone`) and slow answers down (`latency_seconds`).
    """

    def __init__(self, data: FakeGraphData, *, latency_seconds: float = 0.0) -> None:
        self.data = data
        self.latency_seconds = latency_seconds
        self.calls: Counter[str] = Counter()
        self.subscribed: set[str] = set()
        self._failures: dict[str | None, DomainError] = {}
        self._usage: dict[str, WabaUsage] = {}

    @classmethod
    def from_file(cls, path: str) -> FakeProvider:
        """A fake provider over a fake data file; `""` means the built-in demo data."""
        return cls(load_fake_data(path))

    def __repr__(self) -> str:
        return f"FakeProvider(source={self.data.source!r}, wabas={len(self.data.wabas)})"

    async def fetch_waba(self, waba_id: str) -> Waba:
        waba = await self._answer("fetch_waba", waba_id)
        return waba.to_domain()

    async def fetch_phone_numbers(self, waba_id: str) -> list[PhoneNumber]:
        waba = await self._answer("fetch_phone_numbers", waba_id)
        return [_as_graph_answers(phone).to_domain() for phone in waba.phone_numbers]

    async def subscribe_app(self, waba_id: str) -> None:
        await self._answer("subscribe_app", waba_id)
        self.subscribed.add(waba_id)

    def fail_with(self, waba_id: str | None, error: DomainError | None) -> None:
        """Make calls for `waba_id` (None: for every WABA) raise `error` until cleared with `error=None`.

        `fail_with(None, None)` clears every failure. A WABA's own failure wins over the one for all.
        """
        if error is not None:
            self._failures[waba_id] = error
        elif waba_id is None:
            self._failures.clear()
        else:
            self._failures.pop(waba_id, None)

    def update_waba(self, waba_id: str, **graph_fields: Any) -> FakeWaba:
        """Change a WABA at the fake Meta, e.g. `update_waba(id, account_review_status="REJECTED")`."""
        return self.data.update_waba(waba_id, **graph_fields)

    def update_phone(self, waba_id: str, phone_id: str, **graph_fields: Any) -> FakePhoneNumber:
        """Change a phone number at the fake Meta, e.g. `update_phone(waba, phone, quality_rating="RED")`."""
        return self.data.update_phone(waba_id, phone_id, **graph_fields)

    def usage(self, waba_id: str) -> WabaUsage | None:
        """The WABA's rate-limit usage as last set with `set_usage`, like `GraphProvider.usage`."""
        return self._usage.get(waba_id)

    def set_usage(self, waba_id: str, usage: WabaUsage | None) -> None:
        """Pretend Meta reported this usage for the WABA (None: reported nothing)."""
        if usage is None:
            self._usage.pop(waba_id, None)
        else:
            self._usage[waba_id] = usage

    async def _answer(self, call: str, waba_id: str) -> FakeWaba:
        self.calls[call] += 1
        if self.latency_seconds > 0:
            await asyncio.sleep(self.latency_seconds)
        error = self._failures.get(waba_id, self._failures.get(None))
        if error is not None:
            # A fresh traceback each time: the same error object is raised again and again.
            raise error.with_traceback(None)
        waba = self.data.waba(waba_id)
        if waba is None:
            raise WabaNotAccessible(f"WABA `{waba_id}` does not exist or is not shared with the platform")
        return waba


def _as_graph_answers(phone: FakePhoneNumber) -> GraphPhoneNumber:
    """The phone number as Graph answers the Graph adapter's request: only the requested fields come back."""
    fields = graph_node_fields(phone)
    return GraphPhoneNumber(**{name: fields[name] for name in PHONE_NUMBER_FIELDS if name in fields})
