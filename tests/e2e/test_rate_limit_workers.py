"""`server.rate_limit_per_minute` holds across the workers of one `intwa serve` (SPEC §3.8 `42900`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment, graph_data

LIMIT = 20
WORKERS = 2
REQUESTS = 3 * LIMIT
SAFE_SECONDS_BEFORE_THE_MINUTE_ENDS = 10


@pytest.fixture
def limited_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Two workers with a limit; no fake Graph server, as an account without WABAs never asks Meta."""
    deployment = Deployment(tmp_path, graph_data(waba_count=1, phones_per_waba=1))
    deployment.env["INTWA_SERVER__RATE_LIMIT_PER_MINUTE"] = str(LIMIT)
    try:
        deployment.start_server("--workers", str(WORKERS))
        yield deployment
    finally:
        deployment.stop()


def _wait_for_room_in_this_minute() -> None:
    """A burst that crossed into the next minute would be counted in two windows, so start it early enough."""
    left = 60 - time.time() % 60
    if left < SAFE_SECONDS_BEFORE_THE_MINUTE_ENDS:
        time.sleep(left + 0.1)


def test_two_workers_admit_the_limit_to_within_their_count_and_refuse_the_rest(
    limited_deployment: Deployment,
) -> None:
    key = limited_deployment.cli("account", "create", "IW0001")["apiKey"]

    def on_a_fresh_connection(_: int) -> httpx.Response:
        # A client per request: a new connection each time, so the kernel spreads them over the workers.
        return httpx.post(
            f"{limited_deployment.url}/intwa-api/whatsapp/account/wabaInfo",
            json={"accountName": "IW0001"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )

    _wait_for_room_in_this_minute()
    minute = int(time.time() // 60)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(on_a_fresh_connection, range(REQUESTS)))
    assert int(time.time() // 60) == minute, "the burst crossed a minute boundary"

    codes = [response.json()["code"] for response in responses]
    admitted = codes.count(0)
    refused = [response for response in responses if response.json()["code"] == 42900]
    assert LIMIT <= admitted <= LIMIT + WORKERS
    assert len(refused) == REQUESTS - admitted
    assert all(response.status_code == 429 for response in refused)
    assert all(1 <= int(response.headers["Retry-After"]) <= 60 for response in refused)
