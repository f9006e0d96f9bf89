"""Two `intwa serve` processes on one PostgreSQL database serve as one: conflicts, answers, refreshes, visibility."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import waba_info_item
from tests.e2e.conftest import PAYMENT_ISSUE, Deployment, graph_data
from tests.postgres import PostgresServer

pytestmark = pytest.mark.e2e

TTL_SECONDS = 1.5
VISIBLE_WITHIN_SECONDS = 1.0
API = "/intwa-api/whatsapp/account"


class Instances:
    """The deployment, its two instances' URLs, and a client of the account API."""

    def __init__(self, deployment: Deployment, urls: list[str]) -> None:
        self.deployment = deployment
        self.urls = urls
        self.keys: dict[str, str] = {}

    def account(self, name: str) -> str:
        self.keys[name] = self.deployment.cli("account", "create", name)["apiKey"]
        return name

    def post(self, instance: int, endpoint: str, account: str, **body: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.urls[instance]}{API}/{endpoint}",
            json={"accountName": account, **body},
            headers={"Authorization": f"Bearer {self.keys[account]}"},
            timeout=10,
        )
        answer: dict[str, Any] = response.json()
        return answer

    def graph_calls(self) -> dict[str, int]:
        calls: dict[str, int] = httpx.get(f"http://127.0.0.1:{self.deployment.graph_port}/_fake/calls").json()
        return calls

    def reset_graph_calls(self) -> None:
        httpx.delete(f"http://127.0.0.1:{self.deployment.graph_port}/_fake/calls").raise_for_status()


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Iterator[Instances]:
    """A fresh database, a fake Graph server, and two instances on it, started at once (both migrate)."""
    dsn = postgres_server.create_database()
    deployment = Deployment(
        tmp_path_factory.mktemp("instances"),
        graph_data(waba_count=4, phones_per_waba=2),
        postgres_dsn=dsn,
        # No background sync: every Graph call the tests count is one that requests caused.
        extra_config=f"\n[cache]\nttl_seconds = {TTL_SECONDS}\n\n[sync]\ninterval_seconds = 0\n",
    )
    try:
        yield Instances(deployment, deployment.start_instances(2, with_graph=True))
    finally:
        deployment.stop()
        postgres_server.drop_database(dsn)


def test_a_bind_on_one_instance_is_a_conflict_on_the_other_and_both_answer_alike(instances: Instances) -> None:
    owner, rival = instances.account("IW0001"), instances.account("IW0002")

    bound = instances.post(0, "bind", owner, wabaId="100000000", phoneNumberId="200000000000")
    same_number = instances.post(1, "bind", rival, wabaId="100000000", phoneNumberId="200000000000")
    same_waba = instances.post(1, "bind", rival, wabaId="100000000", phoneNumberId="200000000001")

    assert bound["code"] == 0
    assert (same_number["code"], same_waba["code"]) == (40901, 40900)
    waba_info = [instances.post(instance, "wabaInfo", owner) for instance in (0, 1)]
    assert waba_info[0] == waba_info[1]
    assert waba_info[0]["data"] == [
        waba_info_item("100000000", "WABA 0", "APPROVED", canSendMessage="BLOCKED", healthIssues=[PAYMENT_ISSUE])
    ]
    phone_info = [instances.post(instance, "phoneInfo", owner, wabaId="100000000") for instance in (0, 1)]
    assert phone_info[0] == phone_info[1]
    assert [phone["id"] for phone in phone_info[0]["data"]] == ["200000000000", "200000000001"]
    assert instances.post(1, "wabaInfo", rival)["data"] == []
    assert not instances.deployment.database.exists()  # no SQLite file: the store is PostgreSQL


def test_forty_phone_info_requests_over_both_instances_for_an_expired_waba_make_one_provider_call(
    instances: Instances,
) -> None:
    account = instances.account("IW0003")
    assert instances.post(0, "bind", account, wabaId="100000001", phoneNumberId="200000001000")["code"] == 0
    time.sleep(TTL_SECONDS + 0.5)  # the snapshot has expired, and no instance remembers it (1 s at most)
    instances.reset_graph_calls()

    async def burst() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(timeout=10) as client:
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"{instances.urls[index % 2]}{API}/phoneInfo",
                        json={"accountName": account, "wabaId": "100000001"},
                        headers={"Authorization": f"Bearer {instances.keys[account]}"},
                    )
                    for index in range(40)
                )
            )
        return [response.json() for response in responses]

    answers = asyncio.run(burst())

    assert {answer["code"] for answer in answers} == {0}
    assert len({repr(answer["data"]) for answer in answers}) == 1
    calls = instances.graph_calls()
    assert (calls["fetch_waba"], calls["fetch_phone_numbers"]) == (1, 1), calls


def test_disabling_an_account_with_the_cli_shows_on_both_instances_within_a_second(instances: Instances) -> None:
    account = instances.account("IW0004")
    for instance in (0, 1):  # both instances now remember the key and the account
        assert instances.post(instance, "wabaInfo", account)["code"] == 0

    instances.deployment.cli_plain("account", "disable", account)
    started = time.monotonic()
    seen: dict[int, float] = {}
    while len(seen) < 2 and time.monotonic() - started < 3 * VISIBLE_WITHIN_SECONDS:
        for instance in (0, 1):
            if instance not in seen and instances.post(instance, "wabaInfo", account)["code"] == 40300:
                seen[instance] = time.monotonic() - started
        time.sleep(0.02)

    assert sorted(seen) == [0, 1]
    assert max(seen.values()) <= VISIBLE_WITHIN_SECONDS + 0.3  # the CLI process's own start is in the timing
