"""The benchmark's ceiling: a bare Litestar app answering intwa's read paths with fixed bytes.

    uvicorn bare_app:create_app --factory --app-dir bench   (bench/run.py starts it)

`INTWA_BENCH_ANSWERS` names a JSON file `{"phoneInfo": "<body>", "wabaInfo": "<body>"}`: the exact bytes
that intwa answered to the benchmark's requests. Each endpoint returns its bytes as `application/json`
without reading the request, so what it costs is Litestar's routing and uvicorn's HTTP, nothing else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from litestar import Litestar, MediaType, Response, post
from litestar.handlers import HTTPRouteHandler

ACCOUNT_PREFIX = "/intwa-api/whatsapp/account"


def _fixed_answer(name: str, body: bytes) -> HTTPRouteHandler:
    @post(f"{ACCOUNT_PREFIX}/{name}", status_code=200, name=name)
    async def answer() -> Response[bytes]:
        return Response(body, media_type=MediaType.JSON)

    return answer


def create_app() -> Litestar:
    """The app for uvicorn's `--factory`: one POST endpoint per answer in `INTWA_BENCH_ANSWERS`."""
    answers: dict[str, str] = json.loads(Path(os.environ["INTWA_BENCH_ANSWERS"]).read_text(encoding="utf-8"))
    return Litestar(
        route_handlers=[_fixed_answer(name, body.encode()) for name, body in answers.items()],
        openapi_config=None,
        logging_config=None,
    )
