"""Hostile requests against a real `intwa serve` (uvicorn, httptools): the envelope, never a 5xx (SPEC §3.1, §7).

Unknown methods are the case Litestar's test client cannot show: httptools refuses a method it does not
know before the app sees it, so `intwa serve` hands such a connection to h11 (`http_protocol.py`).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Deployment, graph_data
from tests.webhook_examples import APP_SECRET, sign

ACCOUNT = "IW0001"
BIND = "/intwa-api/whatsapp/account/bind"
WEBHOOK = "/intwa-api/whatsapp/webhook"
BIND_BODY = b'{"accountName":"IW0001","wabaId":"100000000","phoneNumberId":"200000000000"}'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One server for the module, with webhooks configured; no test here may leave anything behind."""
    deployment = Deployment(
        tmp_path_factory.mktemp("hostile"),
        graph_data(waba_count=1, phones_per_waba=1),
        extra_config=f'\n[webhook]\napp_secret = "{APP_SECRET}"\n',
    )
    try:
        deployment.start_graph()
        deployment.start_server()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="module")
def key(served: Deployment) -> str:
    api_key: str = served.cli("account", "create", ACCOUNT)["apiKey"]
    return api_key


@pytest.fixture(autouse=True)
def nothing_changes(served: Deployment, key: str) -> Iterator[None]:
    """Every test ends with no binding and no webhook event: no hostile request may change anything."""
    yield
    assert served.cli("bindings") == []
    assert served.cli("webhook-events") == []


def exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes on a new connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received


def responses(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The responses in `raw`, each as status, headers (lower-case names) and body (by Content-Length)."""
    parsed = []
    while raw:
        head, _, raw = raw.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
        length = int(headers.get("content-length", "0"))
        parsed.append((int(status_line.split(" ")[1]), headers, raw[:length]))
        raw = raw[length:]
    return parsed


def request(method: str, path: str, *, body: bytes = b"", close: bool = False, **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: intwa", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if close:
        lines.append("Connection: close")
    return "\r\n".join(lines).encode() + b"\r\n\r\n" + body


def envelope(body: bytes) -> Any:
    return httpx.Response(200, content=body).json()


@pytest.mark.parametrize("method", ["FOO", "get", "BIND"])
def test_an_unknown_method_is_405_in_the_envelope_and_the_connection_goes_on(
    served: Deployment, key: str, method: str
) -> None:
    raw = exchange(
        served.port,
        request(method, BIND, body=BIND_BODY, Authorization=f"Bearer {key}", Content_Type="application/json")
        + request("GET", "/healthz", close=True),
    )

    (status, headers, body), (next_status, _, next_body) = responses(raw)
    assert status == 405
    assert headers["allow"] == "OPTIONS, POST"
    assert envelope(body) == {"code": 40500, "message": f"method {method} is not allowed on {BIND}", "data": None}
    assert (next_status, envelope(next_body)) == (200, {"status": "ok"})


def test_an_unknown_method_after_a_request_on_the_same_connection_is_405(served: Deployment) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(request("GET", "/healthz"))
        first = b""
        while not first.endswith(b'{"status":"ok"}'):  # the whole answer, before the next request is sent
            first += connection.recv(65536)
        connection.sendall(request("FOO", WEBHOOK, close=True))
        rest = b""
        while chunk := connection.recv(65536):
            rest += chunk

    ((status, _, _),) = responses(first)
    ((next_status, headers, body),) = responses(rest)
    assert status == 200
    assert (next_status, headers["allow"], envelope(body)["code"]) == (405, "GET, OPTIONS, POST", 40500)


def test_an_unknown_method_on_an_unknown_path_is_40400(served: Deployment) -> None:
    ((status, _, body),) = responses(exchange(served.port, request("FOO", "/intwa-api/nothing", close=True)))

    assert status == 404
    assert envelope(body) == {"code": 40400, "message": "no such path: /intwa-api/nothing", "data": None}


def test_an_unknown_method_through_an_http_client(served: Deployment, key: str) -> None:
    response = httpx.request(
        "PROPFIND", f"{served.url}{BIND}", content=BIND_BODY, headers={"Authorization": f"Bearer {key}"}
    )

    assert response.status_code == 405
    assert response.json()["code"] == 40500


@pytest.mark.parametrize("line", [b"FOO", b"GET", b"\x00\x01"])
def test_only_a_request_no_parser_can_read_gets_a_bare_400(served: Deployment, line: bytes) -> None:
    raw = exchange(served.port, line + b"\r\n\r\n")

    assert raw.startswith(b"HTTP/1.1 400 ")
    assert b"content-type: text/plain" in raw
    assert raw.endswith(b"\r\n\r\nInvalid HTTP request received.")


def test_options_is_the_success_envelope_with_allow(served: Deployment) -> None:
    response = httpx.options(f"{served.url}{WEBHOOK}")

    assert response.status_code == 200
    assert response.json() == {"code": 0, "message": "Success", "data": None}
    assert response.headers["allow"] == "GET, OPTIONS, POST"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_head_on_a_probe_is_200_with_no_body(served: Deployment, path: str) -> None:
    ((_, headers, _),) = responses(exchange(served.port, request("GET", path, close=True)))
    raw = exchange(served.port, request("HEAD", path, close=True))

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b""
    assert f"content-type: {headers['content-type']}".encode() in head


NOT_UTF8 = b'{"accountName":"IW0001","wabaId":"100000000","phoneNumberId":"\xff\xfe"}'
TOO_DEEP = BIND_BODY[:-1] + b',"x":' + b"[" * 5000 + b"]" * 5000 + b"}"


@pytest.mark.parametrize(
    ("body", "message"),
    [(NOT_UTF8, "the body is not valid UTF-8"), (TOO_DEEP, "the body is nested too deeply to read")],
    ids=["not UTF-8", "too deep"],
)
def test_an_unreadable_body_is_40000_through_the_real_server(
    served: Deployment, key: str, body: bytes, message: str
) -> None:
    response = httpx.post(
        f"{served.url}{BIND}",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"code": 40000, "message": message, "data": None}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"object":"whatsapp_business_account","entry":[],"x":"\xff"}', "the webhook body is not valid UTF-8"),
        (b'{"entry":[{"changes":[{"value":' + b"[" * 5000 + b"]" * 5000 + b"}]}]}", "nested too deeply"),
    ],
    ids=["not UTF-8", "too deep"],
)
def test_an_unreadable_signed_webhook_is_40000_through_the_real_server(
    served: Deployment, body: bytes, message: str
) -> None:
    response = httpx.post(
        f"{served.url}{WEBHOOK}", content=body, headers={"X-Hub-Signature-256": sign(body, APP_SECRET)}
    )

    assert response.status_code == 400
    assert response.json()["code"] == 40000
    assert message in response.json()["message"]
