"""An app on a real SQLite file with the provider overridden by the fake, and an account with a key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from intwa.adapters.provider.fake import FakeProvider
from intwa.container import Container, build_container
from intwa.domain.ports import Storage
from intwa.entrypoints.http.app import create_app
from tests.conftest import make_settings
from tests.fakes.clock import FakeClock

ACCOUNT = "IW0001"
OTHER_ACCOUNT = "IW0002"


class Api:
    """A client of the account API that knows the test account's key."""

    def __init__(self, client: AsyncTestClient[Any], keys: dict[str, str]) -> None:
        self.client = client
        self.keys = keys

    async def post(self, endpoint: str, body: Any, *, account: str = ACCOUNT, key: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {key or self.keys[account]}"}
        return await self.client.post(f"/intwa-api/whatsapp/account/{endpoint}", json=body, headers=headers)

    async def bind(self, waba_id: str, phone_id: str, *, account: str = ACCOUNT, **extra: Any) -> Any:
        body = {"accountName": account, "wabaId": waba_id, "phoneNumberId": phone_id, **extra}
        return await self.post("bind", body, account=account)


@pytest.fixture
def fake_provider(fake_data_path: Path) -> FakeProvider:
    return FakeProvider.from_file(str(fake_data_path))


@pytest.fixture
def clock() -> FakeClock | None:
    """The system clock by default; a module overrides this fixture to move time by hand."""
    return None


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """`SECTION__KEY` settings on top of the defaults below; a module overrides this fixture to add some."""
    return {}


@pytest.fixture
async def container(
    tmp_path: Path,
    fake_data_path: Path,
    fake_provider: FakeProvider,
    clock: FakeClock | None,
    settings_overrides: dict[str, str],
) -> AsyncIterator[Container]:
    # The Graph backend is configured and then overridden, as a deployment's tests would do.
    # Background sync is off unless a module turns it on, so provider call counts are exact.
    settings = make_settings(
        tmp_path,
        fake_data_path,
        **{
            "PROVIDER__BACKEND": "graph",
            "GRAPH__ACCESS_TOKEN": "test-token",
            "SERVER__MAX_BODY_BYTES": "2048",
            "SYNC__INTERVAL_SECONDS": "0",
            **settings_overrides,
        },
    )
    container = build_container(settings)
    container.provider.override(providers.Object(fake_provider))
    if clock is not None:
        container.clock.override(providers.Object(clock))
    storage: Storage = await container.storage()
    await storage.migrate()
    yield container
    await container.shutdown_resources()


@pytest.fixture
async def storage(container: Container) -> Storage:
    storage: Storage = await container.storage()
    return storage


@pytest.fixture
async def api(container: Container) -> AsyncIterator[Api]:
    accounts = await container.accounts()
    keys = {name: (await accounts.create(name)).api_key for name in (ACCOUNT, OTHER_ACCOUNT)}
    async with AsyncTestClient(app=create_app(container)) as client:
        yield Api(client, keys)
