"""What one cached request costs inside the application, without sockets: intwa's app and the bare apps.

    uv run python bench/in_process.py [--requests 20000] [--repeats 5]

Builds intwa's Litestar app in this process (SQLite in a temporary folder, the fake provider's demo data,
a day-long cache TTL, logging at WARNING), creates an account, binds a demo WABA, and calls the ASGI app
directly with a ready request for phoneInfo and wabaInfo, many times over; then does the same with
`bench/bare_app.py` in both of its modes (`bare`: ordinary handlers, `direct`: answered by a route
middleware) answering the same bytes. Prints microseconds per request (the best of `--repeats` timed
loops, after a warm-up): the part of a request that intwa's code and Litestar decide, which `bench/run.py`
measures end to end together with uvicorn, the kernel and wrk. On one machine the numbers repeat within
a few percent, so a change's effect shows here before it shows through the noise of a load test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).parent))

ACCOUNT = "IW0001"
DEMO_WABA = "278990000057661"
DEMO_PHONE = "267300000093634"
PREFIX = "/intwa-api/whatsapp/account"
BODIES = {"phoneInfo": {"accountName": ACCOUNT, "wabaId": DEMO_WABA}, "wabaInfo": {"accountName": ACCOUNT}}

Call = Callable[[], Awaitable[list[dict[str, Any]]]]


def request(app: Any, endpoint: str, body: dict[str, str], api_key: str) -> Call:
    """A coroutine function that sends one POST to `app` and returns the ASGI messages it answered."""
    raw = json.dumps(body).encode()
    headers = [
        (b"host", b"127.0.0.1:8080"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {api_key}".encode()),
        (b"content-length", str(len(raw)).encode()),
    ]
    path = f"{PREFIX}/{endpoint}"

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": raw, "more_body": False}

    async def call() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8080),
            "state": {},
        }
        await app(scope, receive, send)
        return sent

    return call


async def microseconds_per_request(call: Call, requests: int, repeats: int) -> float:
    """The best of `repeats` loops of `requests` calls, after a warm-up, in µs per call."""
    for _ in range(1000):
        await call()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(requests):
            await call()
        best = min(best, (time.perf_counter() - started) / requests)
    return best * 1e6


async def main(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="intwa-in-process-"))
    os.environ.pop("INTWA_CONFIG", None)
    os.environ.update(
        {
            "INTWA_STORAGE__BACKEND": "sqlite",
            "INTWA_STORAGE__SQLITE_PATH": str(folder / "intwa.db"),
            "INTWA_PROVIDER__BACKEND": "fake",
            "INTWA_CACHE__TTL_SECONDS": "86400",
            "INTWA_SYNC__INTERVAL_SECONDS": "0",
            "INTWA_LOGGING__LEVEL": "WARNING",
        }
    )
    from intwa.container import build_container
    from intwa.entrypoints.http.app import create_app
    from intwa.entrypoints.logs import configure_logging
    from intwa.settings import load_settings

    settings = load_settings(None)
    configure_logging(settings.logging)
    container = build_container(settings)
    await (await container.storage()).migrate()
    api_key = (await (await container.accounts()).create(ACCOUNT)).api_key
    intwa = create_app(container)
    async with intwa.lifespan():
        bind = {"accountName": ACCOUNT, "wabaId": DEMO_WABA, "phoneNumberId": DEMO_PHONE}
        await request(intwa, "bind", bind, api_key)()
        answers = {}
        for endpoint, body in BODIES.items():
            sent = await request(intwa, endpoint, body, api_key)()
            if sent[0]["status"] != 200:
                raise SystemExit(f"in_process: {endpoint} answered {sent[0]['status']}: {sent[-1]['body']!r}")
            answers[endpoint] = sent[-1]["body"].decode()
        (folder / "answers.json").write_text(json.dumps(answers), encoding="utf-8")
        os.environ["INTWA_BENCH_ANSWERS"] = str(folder / "answers.json")
        import bare_app

        apps = {"intwa": intwa}
        for mode, name in (("handler", "bare"), ("direct", "direct")):
            os.environ["INTWA_BENCH_BARE"] = mode
            apps[name] = bare_app.create_app()
        async with apps["bare"].lifespan(), apps["direct"].lifespan():
            print(f"µs per request, best of {args.repeats} loops of {args.requests:,}:")
            for endpoint, body in BODIES.items():
                costs = {}
                for name, app in apps.items():
                    call = request(app, endpoint, body, api_key)
                    costs[name] = await microseconds_per_request(call, args.requests, args.repeats)
                print(f"  {endpoint:9}  " + "  ".join(f"{name} {cost:6.2f}" for name, cost in costs.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="calls per timed loop")
    parser.add_argument("--repeats", type=int, default=5, help="timed loops per app and endpoint")
    uvloop.run(main(parser.parse_args()))
