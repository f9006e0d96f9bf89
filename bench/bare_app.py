"""The benchmark's ceilings: bare Litestar apps answering intwa's read paths with fixed bytes.

    python bench/bare_app.py PORT   (bench/run.py starts it)

It runs under uvicorn exactly as `intwa serve` runs intwa (SPEC §8: "on the same server settings"):
`uvicorn_options` of intwa's `[server]` settings from the environment, so the same protocol with its limits.

`INTWA_BENCH_ANSWERS` names a JSON file `{"phoneInfo": "<body>", "wabaInfo": "<body>"}`: the exact bytes
that intwa answered to the benchmark's requests. Each endpoint returns its bytes as `application/json`
without reading the request, so what it costs is Litestar and uvicorn, nothing else.

With `INTWA_BENCH_BARE=direct` the endpoints answer the way intwa's account endpoints are served: a route
middleware sends the bytes as two ASGI messages without calling the route, so what is left is Litestar's
routing, its exception middleware and uvicorn's HTTP. Otherwise (`handler`, the default and SPEC §8's
reference) each is an ordinary handler returning a `Response`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import msgspec
from litestar import Litestar, MediaType, Response, post
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

ACCOUNT_PREFIX = "/intwa-api/whatsapp/account"


class _SendDirectly:
    """Route middleware that answers the route's fixed bytes itself (the handler is never called)."""

    def __init__(self, app: ASGIApp, body: bytes) -> None:
        self._app = app
        self._headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        self._body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": list(self._headers)})
        await send({"type": "http.response.body", "body": self._body, "more_body": False})


def _fixed_answer(name: str, body: bytes, *, direct: bool) -> HTTPRouteHandler:
    middleware = [DefineMiddleware(_SendDirectly, body=body)] if direct else None

    @post(f"{ACCOUNT_PREFIX}/{name}", status_code=200, name=name, middleware=middleware)
    async def answer() -> Response[bytes]:
        return Response(body, media_type=MediaType.JSON)

    return answer


def create_app() -> Litestar:
    """The app for uvicorn's `--factory`: one POST endpoint per answer in `INTWA_BENCH_ANSWERS`."""
    answers: dict[str, str] = json.loads(Path(os.environ["INTWA_BENCH_ANSWERS"]).read_text(encoding="utf-8"))
    direct = os.environ.get("INTWA_BENCH_BARE", "handler") == "direct"
    return Litestar(
        route_handlers=[_fixed_answer(name, body.encode(), direct=direct) for name, body in answers.items()],
        openapi_config=None,
        logging_config=None,
    )


def main() -> None:
    import uvicorn

    from intwa.entrypoints.http.server_protocol import uvicorn_options
    from intwa.settings import load_settings

    server = msgspec.structs.replace(load_settings().server, port=int(sys.argv[1]))
    uvicorn.run(
        "bare_app:create_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        log_level="warning",
        **uvicorn_options(server),
    )


if __name__ == "__main__":
    main()
