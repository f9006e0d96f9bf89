"""Real `intwa` processes on real ports: `intwa fake-graph` standing in for Meta, `intwa serve` in front."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

INTWA = str(Path(sys.executable).parent / "intwa")
GRAPH_TOKEN = "e2e-graph-token"
STARTUP_SECONDS = 20.0

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"process exited with {process.returncode}: {output}")
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not become healthy in {STARTUP_SECONDS} s")


class Deployment:
    """A fake Graph server and intwa servers pointed at it, sharing one SQLite file or PostgreSQL database.

    With `postgres_dsn` the store is that database, its DSN given as `INTWA_STORAGE__POSTGRES_DSN`;
    `extra_config` is TOML appended to the configuration (sections the base one does not have).
    """

    def __init__(
        self, tmp_path: Path, fake_data: dict[str, Any], *, postgres_dsn: str | None = None, extra_config: str = ""
    ) -> None:
        self.tmp_path = tmp_path
        self.database = tmp_path / "var" / "intwa.db"
        self.data_path = tmp_path / "graph-data.json"
        self.data_path.write_text(json.dumps(fake_data), encoding="utf-8")
        self.graph_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp_path / "intwa.toml"
        self.config.write_text(
            f"""
[server]
host = "127.0.0.1"
port = {self.port}

[storage]
{'backend = "postgres"' if postgres_dsn else f'sqlite_path = "{self.database}"'}

[provider]
backend = "graph"
fake_data = "{self.data_path}"

[graph]
base_url = "http://127.0.0.1:{self.graph_port}"
timeout_seconds = 5.0
max_retries = 1

[logging]
level = "WARNING"
{extra_config}""",
            encoding="utf-8",
        )
        self.env = {**os.environ, "INTWA_GRAPH__ACCESS_TOKEN": GRAPH_TOKEN}
        self.env.pop("INTWA_CONFIG", None)
        if postgres_dsn:
            self.env["INTWA_STORAGE__POSTGRES_DSN"] = postgres_dsn
        self.processes: list[subprocess.Popen[bytes]] = []
        self.server: subprocess.Popen[bytes] | None = None

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [INTWA, "--config", str(self.config), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def start_graph(self) -> None:
        graph = self._start("fake-graph", "--port", str(self.graph_port), "--data", str(self.data_path))
        wait_until_healthy(f"http://127.0.0.1:{self.graph_port}", graph)

    def start_server(self, *options: str) -> None:
        self.server = self._start("serve", *options)
        wait_until_healthy(self.url, self.server)

    def start_instances(self, count: int, *, with_graph: bool = False) -> list[str]:
        """`count` more `intwa serve` processes on this configuration and store, started at once; their URLs.

        `with_graph` starts the fake Graph server at the same time (instances do not call it as they start).
        """
        ports = [free_port() for _ in range(count)]
        starting = {f"http://127.0.0.1:{port}": self._start("serve", "--port", str(port)) for port in ports}
        if with_graph:
            graph = self._start("fake-graph", "--port", str(self.graph_port), "--data", str(self.data_path))
            starting[f"http://127.0.0.1:{self.graph_port}"] = graph
        for url, process in starting.items():
            wait_until_healthy(url, process)
        return [f"http://127.0.0.1:{port}" for port in ports]

    def kill_server(self) -> None:
        assert self.server is not None
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(timeout=10)

    def cli(self, *args: str) -> Any:
        """Run an `intwa` command with `--json` and return its decoded output."""
        result = subprocess.run(
            [INTWA, "--config", str(self.config), *args, "--json"],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return json.loads(result.stdout)

    def cli_plain(self, *args: str) -> str:
        """Run an `intwa` command that prints no JSON; its standard output."""
        result = subprocess.run(
            [INTWA, "--config", str(self.config), *args],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout:
                process.stdout.close()


PAYMENT_ERROR = {
    "error_code": 141006,
    "error_description": "There is an error with the payment method. This will block business initiated conversations.",
    "possible_solution": "There was an error with your payment method. Please add a new payment method to the account.",
}


PAYMENT_ISSUE = {
    "entityType": "WABA",
    "entityId": "100000000",
    "canSendMessage": "BLOCKED",
    "errorCode": 141006,
    "description": PAYMENT_ERROR["error_description"],
    "possibleSolution": PAYMENT_ERROR["possible_solution"],
}
"""The healthIssues item of WABA 0's payment error, as phoneInfo and wabaInfo answer it."""


def blocked_by_payment(waba_id: str, phone_id: str | None = None) -> dict[str, Any]:
    """Meta's `health_status` of a WABA (or of one of its numbers) whose payment method fails (141006)."""
    entities: list[dict[str, Any]] = [
        {"entity_type": "WABA", "id": waba_id, "can_send_message": "BLOCKED", "errors": [PAYMENT_ERROR]},
        {"entity_type": "BUSINESS", "id": "506914307656634", "can_send_message": "AVAILABLE"},
        {"entity_type": "APP", "id": "634974688087057", "can_send_message": "AVAILABLE"},
    ]
    if phone_id is not None:
        entities.insert(0, {"entity_type": "PHONE_NUMBER", "id": phone_id, "can_send_message": "AVAILABLE"})
    return {"can_send_message": "BLOCKED", "entities": entities}


def graph_data(waba_count: int, phones_per_waba: int) -> dict[str, Any]:
    """Fake Graph data with WABAs 1000…, each with phones 2000…; WABA 0 is blocked by its payment method."""
    wabas = []
    for w in range(waba_count):
        waba_id = f"1000{w:05d}"
        phones = [
            {
                "id": f"2000{w:05d}{p:03d}",
                "display_phone_number": f"+62 852-{w:04d}-{p:04d}",
                "verified_name": f"Business {w}",
                "status": "CONNECTED",
                "quality_rating": "GREEN",
                "whatsapp_business_manager_messaging_limit": "TIER_1K",
            }
            for p in range(phones_per_waba)
        ]
        waba = {"id": waba_id, "name": f"WABA {w}", "account_review_status": "APPROVED", "phone_numbers": phones}
        if w == 0:
            waba["health_status"] = blocked_by_payment(waba_id)
            for phone in phones:
                phone.update(health_status=blocked_by_payment(waba_id, phone["id"]), name_status="APPROVED")
        wabas.append(waba)
    return {"wabas": wabas}


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment(tmp_path, graph_data(waba_count=120, phones_per_waba=2))
    try:
        deployment.start_graph()
        deployment.start_server()
        yield deployment
    finally:
        deployment.stop()
