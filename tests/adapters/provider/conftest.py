"""Fixtures of the provider adapter tests: a sleep that only records, and a Graph adapter over a scripted Graph."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from intwa.adapters.provider.graph import GraphProvider, open_graph_client
from intwa.settings import GraphSettings
from tests.adapters.provider.graph_doubles import NOW, SETTINGS, MakeProvider, RecordedSleeps, ScriptedGraph


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def graph() -> ScriptedGraph:
    return ScriptedGraph()


@pytest.fixture
async def client(graph: ScriptedGraph) -> AsyncIterator[httpx.AsyncClient]:
    async with asynccontextmanager(open_graph_client)(SETTINGS, transport=httpx.MockTransport(graph)) as client:
        yield client


@pytest.fixture
def make_provider(client: httpx.AsyncClient, sleeps: RecordedSleeps) -> MakeProvider:
    def make(*, max_retries: int = 3, jitter: float = 0.0, **options: Any) -> GraphProvider:
        settings = GraphSettings(
            base_url=SETTINGS.base_url, access_token=SETTINGS.access_token, max_retries=max_retries
        )
        return GraphProvider(client, settings, sleep=sleeps, jitter=lambda: jitter, now=lambda: NOW, **options)

    return make


@pytest.fixture
def provider(make_provider: MakeProvider) -> GraphProvider:
    return make_provider()
