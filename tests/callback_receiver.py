"""A customer's callback receiver for tests: a real HTTP(S) server on 127.0.0.1, in a thread of its own.

It records every request as it arrived (raw body bytes, headers as sent) and answers as the test says, so a
test can verify a delivery with the `standardwebhooks` library the way a customer would. Running in its own
thread and event loop, it serves async tests and the CLI's `asyncio.run` alike. Also a resolver stand-in
that answers host names as a test scripts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def verified(self, secret: str) -> object:
        """The JSON of the delivery, once `standardwebhooks` has verified its signature with `secret`."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Answer:
    """How the receiver answers: a status, extra headers, after a delay, or by closing without an answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    close_without_answer: bool = False


class Receiver:
    """The server; `requests` fills as requests arrive, `answer` may change between deliveries."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.ssl_context = ssl_context
        self.answer = Answer()
        self.requests: list[Received] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="callback receiver", daemon=True)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = asyncio.Event()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=5)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # Connections the client under test keeps alive, or gave up on while an answer was delayed, end now.
        self._closing.set()
        for writer in self._connections.values():
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = asyncio.current_task()
        assert connection is not None
        self._connections[connection] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
                method, target, _ = request_line.split(" ", 2)
                headers = {}
                for line in lines:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Received(method, target, headers, body))
                answer = self.answer
                if answer.delay_seconds:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._closing.wait(), answer.delay_seconds)
                if answer.close_without_answer or self._closing.is_set():
                    return
                extra = "".join(f"{name}: {value}\r\n" for name, value in answer.headers.items())
                writer.write(f"HTTP/1.1 {answer.status} Answer\r\ncontent-length: 2\r\n{extra}\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            return
        finally:
            self._connections.pop(connection, None)
            writer.close()


@contextmanager
def running_receiver(ssl_context: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    receiver = Receiver(ssl_context)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class StubResolver:
    """A `HostResolver` that answers each host with the next of its scripted answers (the last one repeats).

    A host with no answers does not resolve; `asked` lists the hosts asked about, in order.
    """

    def __init__(self, answers: dict[str, list[list[str]]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    def always(self, host: str, *addresses: str) -> None:
        self.answers[host] = [list(addresses)]

    async def resolve(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        answers = self.answers.get(host)
        if not answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers.pop(0) if len(answers) > 1 else list(answers[0])
