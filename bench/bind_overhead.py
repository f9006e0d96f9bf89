"""What a bind costs on top of the provider's own latency.

A bind asks Meta for the WABA and its phone numbers (concurrently), subscribes the app to the WABA, and
stores the binding with its snapshot. The provider's own part is measured by making those same Graph
calls, the same way (two concurrent GETs, then the POST), with an httpx client straight to `fake-graph`;
intwa's bind is measured as a client sees it. Binds and provider sequences alternate, one WABA each, so
that both see the same machine; the overhead is the difference of the medians.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from intwa.adapters.provider.graph import PHONE_NUMBERS_PAGE_LIMIT
from intwa.adapters.provider.graph_nodes import PHONE_NUMBER_FIELDS, WABA_FIELDS
from intwa.settings import GraphSettings

WARM_UP = 5


@dataclass(frozen=True)
class BindOverhead:
    binds: int
    bind_p50_ms: float
    bind_p90_ms: float
    provider_p50_ms: float
    provider_p90_ms: float

    @property
    def overhead_p50_ms(self) -> float:
        return self.bind_p50_ms - self.provider_p50_ms


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def _provider_sequence(graph: httpx.AsyncClient, waba_id: str) -> float:
    started = time.perf_counter()
    waba, phones = await asyncio.gather(
        graph.get(f"/{waba_id}", params={"fields": ",".join(WABA_FIELDS)}),
        graph.get(
            f"/{waba_id}/phone_numbers",
            params={"fields": ",".join(PHONE_NUMBER_FIELDS), "limit": str(PHONE_NUMBERS_PAGE_LIMIT)},
        ),
    )
    subscribed = await graph.post(f"/{waba_id}/subscribed_apps")
    elapsed = time.perf_counter() - started
    for response in (waba, phones, subscribed):
        response.raise_for_status()
    return elapsed


async def _bind(intwa: httpx.AsyncClient, account: str, waba_id: str, phone_id: str) -> float:
    started = time.perf_counter()
    response = await intwa.post(
        "/intwa-api/whatsapp/account/bind",
        json={"accountName": account, "wabaId": waba_id, "phoneNumberId": phone_id},
    )
    elapsed = time.perf_counter() - started
    if response.json()["code"] != 0:
        raise RuntimeError(f"bind of {waba_id} failed: {response.text}")
    return elapsed


async def measure_bind_overhead(
    *, intwa_url: str, api_key: str, account: str, graph_url: str, graph_token: str, wabas: list[tuple[str, str]]
) -> BindOverhead:
    """Bind each (WABA, phone number) once, alternating with the provider's calls for the same WABA."""
    graph_base = f"{graph_url}/{GraphSettings().api_version}"
    binds: list[float] = []
    sequences: list[float] = []
    async with (
        httpx.AsyncClient(base_url=graph_base, headers={"Authorization": f"Bearer {graph_token}"}) as graph,
        httpx.AsyncClient(base_url=intwa_url, headers={"Authorization": f"Bearer {api_key}"}) as intwa,
    ):
        for index, (waba_id, phone_id) in enumerate(wabas):
            sequence = await _provider_sequence(graph, waba_id)
            bind = await _bind(intwa, account, waba_id, phone_id)
            if index >= WARM_UP:
                sequences.append(sequence * 1000)
                binds.append(bind * 1000)
    return BindOverhead(
        binds=len(binds),
        bind_p50_ms=statistics.median(binds),
        bind_p90_ms=_percentile(binds, 0.9),
        provider_p50_ms=statistics.median(sequences),
        provider_p90_ms=_percentile(sequences, 0.9),
    )
