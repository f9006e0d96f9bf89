"""Meta's documented WABA in the fake data, and the use case over the in-memory fakes of `tests/unit`."""

from __future__ import annotations

from pathlib import Path

import pytest

from intwa.adapters.provider.fake import FakeProvider
from intwa.domain.accounts import AccountAdministration
from intwa.domain.bindings import BindPhoneNumber
from intwa.domain.snapshots import Snapshots
from intwa.domain.webhooks.apply import ApplyWebhook
from tests.fakes.clock import ClockSleep, FakeClock
from tests.fakes.storage import InMemoryStorage
from tests.webhook_examples import META_PHONE_ID, META_WABA_ID, write_fake_data_with_meta_waba

RETENTION_DAYS = 7


@pytest.fixture
def fake_data_path(tmp_path: Path) -> Path:
    return write_fake_data_with_meta_waba(tmp_path)


@pytest.fixture
def sleep(clock: FakeClock) -> ClockSleep:
    return ClockSleep(clock)


@pytest.fixture
def apply_webhook(storage: InMemoryStorage, snapshots: Snapshots, clock: FakeClock, sleep: ClockSleep) -> ApplyWebhook:
    return ApplyWebhook(storage, snapshots, clock, retention_days=RETENTION_DAYS, sleep=sleep)


@pytest.fixture
async def bound(accounts: AccountAdministration, bind: BindPhoneNumber) -> None:
    await accounts.create("IW0001")
    await bind("IW0001", META_WABA_ID, META_PHONE_ID)


def fetches(provider: FakeProvider) -> int:
    """How many times the provider has been asked for a WABA or its phone numbers."""
    return provider.calls["fetch_waba"] + provider.calls["fetch_phone_numbers"]
