"""Test doubles around Graph: Meta's documented payloads, a scripted Graph for `httpx.MockTransport`, a sleep
that only records, and an ASGI transport into the fake Graph app."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
from litestar import Litestar

from intwa.adapters.provider.graph import GraphProvider
from intwa.settings import GraphSettings, Secret

TOKEN = "EAAG-secret-token-that-must-never-show"
WABA_ID = "102290129340398"
WABA_PATH = f"/v25.0/{WABA_ID}"
PHONES_PATH = f"/v25.0/{WABA_ID}/phone_numbers"
SUBSCRIBE_PATH = f"/v25.0/{WABA_ID}/subscribed_apps"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = GraphSettings(base_url="https://graph.facebook.com", api_version="v25.0", access_token=Secret(TOKEN))

Answer = httpx.Response | Exception
MakeProvider = Callable[..., GraphProvider]

GRAPH_FIXTURES = Path(__file__).parents[2] / "fixtures" / "graph"


def graph_fixture(name: str) -> bytes:
    """A documented Graph payload from `tests/fixtures/graph/`, e.g. `graph_fixture("waba.json")`."""
    return (GRAPH_FIXTURES / name).read_bytes()


def asgi_transport(app: Litestar) -> httpx.ASGITransport:
    """An httpx transport into the app (httpx's ASGI type is narrower than Litestar's signature)."""
    return httpx.ASGITransport(app=cast(Any, app))


class RecordedSleeps:
    """Stands in for `asyncio.sleep`: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class ScriptedGraph:
    """A Graph stand-in: answers each path from a script (the last answer repeats) and records requests."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._script: dict[str, list[Answer]] = {}

    def answer(self, path: str, *answers: Answer) -> None:
        self._script[path] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answers = self._script[request.url.path]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def respond(status: int, body: bytes | dict[str, Any], **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": "application/json", **headers})


def graph_error(code: int, *, subcode: int | None = None, transient: bool = False, message: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"message": message or f"(#{code}) error", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient:
        error["is_transient"] = True
    error["fbtrace_id"] = f"Trace{code}"
    return {"error": error}


def usage_header(**entry: float) -> str:
    return json.dumps({WABA_ID: [{"type": "whatsapp", **entry}]})
