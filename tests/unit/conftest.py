"""Use cases over the in-memory storage, the fake provider and a hand-moved clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.snapshots import Snapshots
from tests.fakes.clock import FakeClock
from tests.fakes.storage import InMemoryStorage

TTL_SECONDS = 300
MAX_STALE_SECONDS = 3600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def storage(clock: FakeClock) -> InMemoryStorage:
    storage = InMemoryStorage(clock=clock)
    await storage.migrate()
    return storage


@pytest.fixture
def provider(fake_data_path: Path) -> FakeProvider:
    return FakeProvider.from_file(str(fake_data_path))


@pytest.fixture
def snapshots(storage: InMemoryStorage, provider: FakeProvider, clock: FakeClock) -> Snapshots:
    return Snapshots(storage, provider, clock, ttl_seconds=TTL_SECONDS, max_stale_seconds=MAX_STALE_SECONDS)


@pytest.fixture
def accounts(storage: InMemoryStorage, clock: FakeClock) -> AccountAdministration:
    return AccountAdministration(storage, clock)


@pytest.fixture
def bind(storage: InMemoryStorage, provider: FakeProvider, snapshots: Snapshots, clock: FakeClock) -> BindPhoneNumber:
    return BindPhoneNumber(storage, provider, snapshots, clock)
