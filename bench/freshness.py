"""Provider calls per 1,000 phoneInfo requests: `intwa serve` against `intwa fake-graph`, many clients.

    uv run python bench/freshness.py [--clients 50] [--seconds 30] [--ttl 5] [--storage sqlite|postgres]

Starts both servers on free loopback ports with a temporary SQLite file (or, with `--storage postgres`,
a database of its own on the server of `--postgres-dsn`, dropped at the end), binds one WABA, then lets
the clients call phoneInfo as fast as they can, and reads the fake Graph's call counter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

INTWA = str(Path(sys.executable).parent / "intwa")
WABA_ID = "278990000057661"
PHONE_ID = "267300000093634"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_healthy(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not start")


async def drive(url: str, key: str, clients: int, seconds: float) -> tuple[int, int, list[float]]:
    body = {"accountName": "BENCH", "wabaId": WABA_ID}
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.post("/intwa-api/whatsapp/account/phoneInfo", json=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            if response.json()["code"] != 0:
                failures += 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return len(latencies), failures, latencies


async def _admin(dsn: str, sql: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def storage_settings(storage: str, folder: str, admin_dsn: str) -> Iterator[dict[str, str]]:
    """The `INTWA_STORAGE__*` variables of a new store: a SQLite file in `folder`, or a new PostgreSQL database."""
    if storage == "sqlite":
        yield {"INTWA_STORAGE__SQLITE_PATH": f"{folder}/intwa.db"}
        return
    name = f"intwa_bench_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_dsn, f'CREATE DATABASE "{name}"'))
    try:
        dsn = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))
        yield {"INTWA_STORAGE__BACKEND": "postgres", "INTWA_STORAGE__POSTGRES_DSN": dsn}
    finally:
        asyncio.run(_admin(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ttl", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--storage", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--postgres-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a server where the user may create databases (with --storage postgres)",
    )
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as folder,
        storage_settings(args.storage, folder, args.postgres_dsn) as storage,
    ):
        graph_port, port = free_port(), free_port()
        env = {
            **os.environ,
            **storage,
            "INTWA_PROVIDER__BACKEND": "graph",
            "INTWA_GRAPH__BASE_URL": f"http://127.0.0.1:{graph_port}",
            "INTWA_GRAPH__ACCESS_TOKEN": "bench-token",
            "INTWA_CACHE__TTL_SECONDS": str(args.ttl),
            "INTWA_SYNC__INTERVAL_SECONDS": "0",
            "INTWA_LOGGING__LEVEL": "WARNING",
        }
        env.pop("INTWA_CONFIG", None)
        servers = [
            subprocess.Popen([INTWA, "fake-graph", "--port", str(graph_port)], env=env),
            subprocess.Popen([INTWA, "serve", "--port", str(port), "--workers", str(args.workers)], env=env),
        ]
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(f"http://127.0.0.1:{graph_port}")
            wait_healthy(url)
            created = subprocess.run(
                [INTWA, "account", "create", "BENCH", "--json"], env=env, capture_output=True, check=True
            )
            key = json.loads(created.stdout)["apiKey"]
            bound = httpx.post(
                f"{url}/intwa-api/whatsapp/account/bind",
                json={"accountName": "BENCH", "wabaId": WABA_ID, "phoneNumberId": PHONE_ID},
                headers={"Authorization": f"Bearer {key}"},
            ).json()
            assert bound["code"] == 0, bound
            graph = f"http://127.0.0.1:{graph_port}/_fake/calls"
            before = httpx.get(graph).json()
            requests, failures, latencies = asyncio.run(drive(url, key, args.clients, args.seconds))
            after = httpx.get(graph).json()
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    calls = {name: after[name] - before.get(name, 0) for name in after}
    graph_calls = sum(calls.values())
    latencies.sort()
    print(
        f"clients={args.clients} seconds={args.seconds} ttl={args.ttl}s workers={args.workers} storage={args.storage}"
    )
    print(f"phoneInfo requests: {requests} ({requests / args.seconds:.0f}/s), failures: {failures}")
    p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
    print(f"latency p50={p50 * 1000:.1f} ms p99={p99 * 1000:.1f} ms")
    print(f"Graph calls: {graph_calls} {calls}")
    print(f"Graph calls per 1,000 phoneInfo requests: {graph_calls * 1000 / max(requests, 1):.3f}")


if __name__ == "__main__":
    main()
