"""A real `intwa serve` on PostgreSQL whose network is cut under load: 50301, one outage in the log, then 200s.

The database is reached through `CuttableProxy`; the test drops every connection and refuses new ones
for two seconds while clients keep reading and writing, then lets them through again.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.conftest import OTHER_WABA_ID, OTHER_WABA_PHONE_ID, PHONE_ID, SECOND_PHONE_ID, WABA_ID
from tests.e2e.conftest import INTWA, free_port, wait_until_healthy
from tests.faults.proxy import CuttableProxy

pytestmark = pytest.mark.e2e

ACCOUNT = "IW0001"
CLIENTS = 8
BEFORE_SECONDS, CUT_SECONDS, AFTER_SECONDS = 1.0, 2.0, 3.0
RECOVERY_SECONDS = 1.5
"""After the proxy lets connections through again, every request must succeed once this has passed."""


AMBIGUOUS_UNBIND = "unbind after an unbind answered 503"


@dataclass(frozen=True)
class Answer:
    at: float  # seconds since the load started
    path: str
    status: int
    code: int | None
    retry_after: str | None


class Server:
    """`intwa serve` on the PostgreSQL database behind the proxy, logging JSON lines to a file."""

    def __init__(self, tmp_path: Path, fake_data_path: Path, dsn: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        self.config = tmp_path / "intwa.toml"
        self.config.write_text(
            f'[server]\nport = {self.port}\n\n[storage]\nbackend = "postgres"\n\n'
            f'[provider]\nbackend = "fake"\nfake_data = "{fake_data_path}"\n\n'
            '[logging]\nformat = "json"\naccess_log = false\n',
            encoding="utf-8",
        )
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("INTWA_")}
        self.env["INTWA_STORAGE__POSTGRES_DSN"] = dsn

    def intwa(self, *args: str) -> Any:
        done = subprocess.run(
            [INTWA, "--config", str(self.config), *args, "--json"],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)

    def serve(self) -> subprocess.Popen[bytes]:
        with self.log.open("wb") as log:
            process = subprocess.Popen(
                [INTWA, "--config", str(self.config), "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_healthy(self.url, process)
        return process

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the log; anything else (a traceback printed raw) as `{"raw": line}`."""
        records = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                records.append({"raw": line})
        return records


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    with CuttableProxy("127.0.0.1", 5432) as proxy:
        yield proxy


@pytest.fixture
def server(
    tmp_path: Path, fake_data_path: Path, fresh_postgres_database: str, proxy: CuttableProxy
) -> Iterator[Server]:
    parts = urlsplit(fresh_postgres_database)
    through_proxy = urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.port}", f":{proxy.port}")))
    server = Server(tmp_path, fake_data_path, through_proxy)
    process = server.serve()
    try:
        yield server
    finally:
        process.terminate()
        process.wait(timeout=15)


async def test_a_cut_database_is_50301_with_retry_after_logged_once_and_over_when_it_is_back(
    server: Server, proxy: CuttableProxy
) -> None:
    key = server.intwa("account", "create", ACCOUNT)["apiKey"]
    answers: list[Answer] = []
    readiness: list[tuple[float, int]] = []
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for waba_id, phone_id in ((WABA_ID, PHONE_ID), (OTHER_WABA_ID, OTHER_WABA_PHONE_ID)):
            bound = await client.post("/intwa-api/whatsapp/account/bind", json=_binding(waba_id, phone_id))
            assert bound.status_code == 200, bound.text
        started = time.monotonic()
        end = started + BEFORE_SECONDS + CUT_SECONDS + AFTER_SECONDS

        async def cut_and_restore() -> tuple[float, float]:
            await asyncio.sleep(BEFORE_SECONDS)
            await asyncio.to_thread(proxy.cut)
            cut_at = time.monotonic() - started
            await asyncio.sleep(CUT_SECONDS)
            await asyncio.to_thread(proxy.restore)
            return cut_at, time.monotonic() - started

        async def probe() -> None:
            while time.monotonic() < end:
                response = await client.get("/readyz")
                readiness.append((time.monotonic() - started, response.status_code))
                await asyncio.sleep(0.1)

        clients = [_client(client, number, started, end, answers) for number in range(CLIENTS)]
        (cut_at, restored_at), *_ = await asyncio.gather(cut_and_restore(), probe(), *clients)

    outcomes = Counter((answer.status, answer.code) for answer in answers if answer.path != AMBIGUOUS_UNBIND)
    assert {(answer.status, answer.code) for answer in answers if answer.path == AMBIGUOUS_UNBIND} <= {(404, 40401)}
    lines = server.log_records()
    summary = f"{len(answers)} answers {dict(outcomes)}; cut at {cut_at:.2f} s, back at {restored_at:.2f} s"
    print(summary, *(f"{line['level']} {line['message']}" for line in lines if "raw" not in line), sep="\n")

    assert set(outcomes) <= {(200, 0), (503, 50301)}, summary
    assert outcomes[(503, 50301)] > 0, summary  # the cut was felt: the memory layer holds for a second only
    assert {answer.retry_after for answer in answers if answer.status == 503} == {"5"}
    recovered = [answer for answer in answers if answer.at > restored_at + RECOVERY_SECONDS]
    assert recovered, summary
    assert {answer.status for answer in recovered} == {200}, summary
    assert 503 in {status for at, status in readiness if cut_at + 1 < at < restored_at}
    assert readiness[-1][1] == 200
    outage = [line for line in lines if str(line.get("logger", "")).startswith("intwa.storage")]
    assert [line["level"] for line in outage] == ["WARNING", "INFO"], outage
    assert "storage is unavailable" in outage[0]["message"]
    assert "storage answers again" in outage[1]["message"]
    assert [line for line in lines if line.get("level") == "ERROR" or "Traceback" in line.get("raw", "")] == []
    # Nothing else: a line per failed request, or a traceback per attempt to reconnect, would show here.
    logged = [line for line in lines if "raw" not in line]  # uvicorn's start-up lines are its own, in text
    assert logged == outage, logged


async def _client(client: httpx.AsyncClient, number: int, started: float, end: float, answers: list[Answer]) -> None:
    """Reads both WABAs, all the time; client 0 also binds a phone number and unbinds it, again and again.

    It unbinds only what a bind answered 200 for, and binding again is safe either way. An unbind answered
    503 may still have committed (the connection can be cut between the commit and its acknowledgement), so
    the unbind after it may rightly be 40401: that answer is recorded under `AMBIGUOUS_UNBIND` and means the
    binding is gone.
    """
    bound = False
    unbind_unanswered = False
    while time.monotonic() < end:
        requests = _reads()
        if number == 0:
            requests.append(_unbinding() if bound else ("bind", _binding(WABA_ID, SECOND_PHONE_ID)))
        for path, body in requests:
            response = await client.post(f"/intwa-api/whatsapp/account/{path}", json=body)
            code = response.json().get("code") if response.headers.get("content-type") == "application/json" else None
            gone_already = path == "unbind" and unbind_unanswered and code == 40401
            answers.append(
                Answer(
                    time.monotonic() - started,
                    AMBIGUOUS_UNBIND if gone_already else path,
                    response.status_code,
                    code,
                    response.headers.get("retry-after"),
                )
            )
            if path == "unbind":
                unbind_unanswered = response.status_code == 503
            if path in ("bind", "unbind") and (response.status_code == 200 or gone_already):
                bound = path == "bind"


def _reads() -> list[tuple[str, dict[str, str]]]:
    return [
        ("phoneInfo", {"accountName": ACCOUNT, "wabaId": WABA_ID}),
        ("wabaInfo", {"accountName": ACCOUNT}),
        ("phoneInfo", {"accountName": ACCOUNT, "wabaId": OTHER_WABA_ID}),
    ]


def _unbinding() -> tuple[str, dict[str, str]]:
    return "unbind", {"accountName": ACCOUNT, "wabaId": WABA_ID, "phoneNumberId": SECOND_PHONE_ID}


def _binding(waba_id: str, phone_id: str) -> dict[str, str]:
    return {"accountName": ACCOUNT, "wabaId": waba_id, "phoneNumberId": phone_id}
