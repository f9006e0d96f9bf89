"""`[server]`'s limits on a real `intwa serve`: no header, silence, half-sent body or crowd holds a worker."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Deployment, graph_data

MAX_HEADER_BYTES = 4096
MAX_CONNECTIONS = 20
READ_TIMEOUT = 1.0
KEEP_ALIVE = 2.0
LIMITS = {
    "INTWA_SERVER__MAX_HEADER_BYTES": str(MAX_HEADER_BYTES),
    "INTWA_SERVER__MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    "INTWA_SERVER__REQUEST_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT),
    "INTWA_SERVER__KEEP_ALIVE_SECONDS": str(KEEP_ALIVE),
}
TEN_MB_HEADER = b"GET /healthz HTTP/1.1\r\nHost: intwa\r\nX-Padding: " + b"a" * 10_000_000 + b"\r\n\r\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: intwa\r\n\r\n"


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Deployment]:
    """`intwa serve` with small limits (no Graph server: nothing here reaches the provider)."""
    deployment = Deployment(tmp_path, graph_data(waba_count=1, phones_per_waba=1))
    deployment.env.update(LIMITS)
    try:
        yield deployment
    finally:
        deployment.stop()


def _connect(deployment: Deployment) -> socket.socket:
    return socket.create_connection(("127.0.0.1", deployment.port), timeout=10)


def _send(connection: socket.socket, data: bytes) -> None:
    """Sends what the server reads; a server that closed early is what some tests look for."""
    with contextlib.suppress(OSError):
        connection.sendall(data)


def _read_until_closed(connection: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started, received = time.monotonic(), b""
    while chunk := connection.recv(65536):
        received += chunk
    return received, time.monotonic() - started


def _envelope_code(response: bytes) -> int:
    code: int = json.loads(response.partition(b"\r\n\r\n")[2])["code"]
    return code


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_a_header_past_the_limit_gets_431_and_is_closed_while_other_clients_are_answered_at_once(
    limited: Deployment,
) -> None:
    limited.start_server()
    answers: list[bytes] = []

    def upload() -> None:
        with _connect(limited) as connection:
            _send(connection, TEN_MB_HEADER)
            answers.append(_read_until_closed(connection)[0])

    uploading = threading.Thread(target=upload)
    durations = []
    with httpx.Client(base_url=limited.url, timeout=10) as other:
        uploading.start()
        while uploading.is_alive() or not durations:
            started = time.monotonic()
            assert other.get("/healthz").status_code == 200
            durations.append(time.monotonic() - started)
    uploading.join()

    assert answers[0].startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in answers[0]
    assert _envelope_code(answers[0]) == 43100
    assert max(durations) < 0.5


def test_a_header_just_within_the_limit_is_answered(limited: Deployment) -> None:
    limited.start_server()
    request_line_and_host = b"GET /healthz HTTP/1.1\r\nHost: intwa\r\nX-Padding: \r\n\r\n"
    padding = b"a" * (MAX_HEADER_BYTES - len(request_line_and_host))

    with _connect(limited) as within, _connect(limited) as past:
        within.sendall(request_line_and_host.replace(b"X-Padding: ", b"X-Padding: " + padding))
        past.sendall(request_line_and_host.replace(b"X-Padding: ", b"X-Padding: a" + padding))
        assert within.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert past.recv(65536).startswith(b"HTTP/1.1 431 ")


def test_twenty_oversized_headers_leave_the_servers_memory_flat(limited: Deployment) -> None:
    limited.start_server()
    assert limited.server is not None

    def oversized() -> None:
        with _connect(limited) as connection:
            _send(connection, TEN_MB_HEADER)
            assert _read_until_closed(connection)[0].startswith(b"HTTP/1.1 431 ")

    oversized()  # what a first refusal allocates once is not what is measured
    before = _rss_bytes(limited.server.pid)
    uploads = [threading.Thread(target=oversized) for _ in range(20)]
    for thread in uploads:
        thread.start()
    for thread in uploads:
        thread.join()
    after = _rss_bytes(limited.server.pid)

    assert after - before < 20 * 1024 * 1024, f"RSS grew from {before >> 20} MB to {after >> 20} MB"


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: in", id="half a head"),
        pytest.param(
            b"POST /intwa-api/whatsapp/account/wabaInfo HTTP/1.1\r\nHost: intwa\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10000000\r\n\r\n0123456789",
            id="10 bytes of a 10 MB body",
        ),
        pytest.param(
            b"POST /intwa-api/whatsapp/webhook HTTP/1.1\r\nHost: intwa\r\nContent-Type: application/json\r\n"
            b"Content-Length: 60000\r\n\r\n0123456789",
            id="10 bytes of a body within the limit",
        ),
    ],
)
def test_a_client_that_stalls_is_disconnected_after_the_read_timeout(limited: Deployment, sent: bytes) -> None:
    limited.start_server()

    with _connect(limited) as connection:
        connection.sendall(sent)
        received, waited = _read_until_closed(connection)

    assert READ_TIMEOUT - 0.2 < waited < READ_TIMEOUT + 1.5
    assert not received.startswith(b"HTTP/1.1 5")


@pytest.mark.parametrize("drip", [b"\r\n", b"a"], ids=["blank lines", "a header's bytes"])
def test_a_client_that_drips_bytes_is_disconnected_after_the_read_timeout(limited: Deployment, drip: bytes) -> None:
    limited.start_server()

    with _connect(limited) as connection:
        connection.sendall(HEALTHZ)
        connection.recv(65536)
        if drip == b"a":
            connection.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        stop = threading.Event()

        def drip_until_closed() -> None:
            while not stop.wait(0.2):
                try:
                    connection.sendall(drip)
                except OSError:
                    return

        dripping = threading.Thread(target=drip_until_closed)
        dripping.start()
        try:
            _, waited = _read_until_closed(connection)
        finally:
            stop.set()
            dripping.join()

    assert READ_TIMEOUT - 0.2 < waited < READ_TIMEOUT + 1.5


def test_a_connection_that_sent_an_unknown_method_is_closed_at_the_read_timeout_too(limited: Deployment) -> None:
    limited.start_server()

    with _connect(limited) as connection:
        connection.sendall(b"FOO /intwa-api/whatsapp/account/bind HTTP/1.1\r\nHost: intwa\r\n\r\n")
        connection.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")  # then half a request, and silence
        received, waited = _read_until_closed(connection)

    assert received.startswith(b"HTTP/1.1 405 ")
    assert _envelope_code(received) == 40500
    assert waited < READ_TIMEOUT + 0.5  # not h11's keep-alive, which would close it only after KEEP_ALIVE


def test_an_idle_keep_alive_connection_is_closed_after_keep_alive_seconds(limited: Deployment) -> None:
    limited.start_server()

    with _connect(limited) as connection:
        connection.sendall(HEALTHZ)
        received, waited = _read_until_closed(connection)

    assert received.startswith(b"HTTP/1.1 200 ")
    assert KEEP_ALIVE - 0.2 < waited < KEEP_ALIVE + 1.5


def test_connections_past_the_limit_get_503_at_once_and_the_server_answers_again_when_they_close(
    limited: Deployment,
) -> None:
    limited.start_server()
    silent = [_connect(limited) for _ in range(MAX_CONNECTIONS)]
    try:
        time.sleep(0.1)  # accepted by the server
        with _connect(limited) as one_too_many:
            started = time.monotonic()
            _send(one_too_many, HEALTHZ)
            refused, _ = _read_until_closed(one_too_many)
            refused_after = time.monotonic() - started
    finally:
        for connection in silent:
            connection.close()

    assert refused.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in refused
    assert _envelope_code(refused) == 50302
    assert refused_after < 0.5
    time.sleep(0.1)
    assert httpx.get(f"{limited.url}/healthz").status_code == 200


def test_every_worker_applies_the_limits(limited: Deployment) -> None:
    limited.start_server("--workers", "2")
    oversized = b"GET /healthz HTTP/1.1\r\nHost: intwa\r\nX-Padding: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n"

    def refused_on_a_fresh_connection(_: int) -> tuple[bytes, bytes]:
        """The worker that took the connection (its request ids' prefix) and its answer to an oversized head."""
        with _connect(limited) as connection:
            connection.sendall(HEALTHZ)
            answered = b""
            while b'{"status":"ok"}' not in answered:
                answered += connection.recv(65536)
            _send(connection, oversized)
            worker = answered.split(b"x-request-id: ", 1)[1].split(b"-", 1)[0]
            return worker, _read_until_closed(connection)[0]

    answers: dict[bytes, list[bytes]] = {}
    deadline = time.monotonic() + 15  # the second worker may still be starting when the first answers
    with ThreadPoolExecutor(max_workers=8) as pool:  # concurrent fresh connections: the kernel spreads them
        while len(answers) < 2 and time.monotonic() < deadline:
            for worker, answer in pool.map(refused_on_a_fresh_connection, range(16)):
                answers.setdefault(worker, []).append(answer)

    assert len(answers) == 2
    assert all(answer.startswith(b"HTTP/1.1 431 ") for answer in itertools.chain(*answers.values()))
