"""A hostile probe of a real `intwa serve`: malformed bodies, huge headers, slow and silent clients, odd methods,
a PostgreSQL cut, a full disk and kill -9 under bind load. Prints one line per case with what happened.

    uv run python bench/hostile.py [--postgres-dsn DSN] [--skip-postgres] [--skip-disk]

Each case states what SPEC §3.1, §3.8, §5 and §7 ask for; the run ends with the outcomes in a table. It starts
its own `intwa fake-graph` and `intwa serve` processes on free ports, with a configuration written to a
temporary folder, and stops them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

import httpx

INTWA = str(Path(sys.executable).parent / "intwa")
APP_SECRET = "probe-app-secret"  # noqa: S105 - the probe's own server, made for this run
WABA = "278990000057661"
PHONE = "267300000093634"
OUTCOMES: list[tuple[str, str, str]] = []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def record(case: str, wanted: str, seen: str) -> None:
    OUTCOMES.append((case, wanted, seen))
    print(f"- {case}: {seen}  (wanted: {wanted})", flush=True)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    """`intwa serve` (fake provider data served by `intwa fake-graph`) on a free port, with its own config."""

    def __init__(self, folder: Path, storage: str, fake_data: str = "") -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / "intwa.toml"
        self.log = folder / "serve.log"
        self.config.write_text(
            f"""
[server]
port = {self.port}
request_read_timeout_seconds = 3
[storage]
{storage}
[provider]
backend = "fake"
fake_data = "{fake_data}"
[webhook]
app_secret = "{APP_SECRET}"
verify_token = "probe"
[sync]
interval_seconds = 0
[logging]
level = "INFO"
""",
            encoding="utf-8",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [INTWA, "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
            check=False,
        )

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen([INTWA, "--config", str(self.config), "serve"], stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"intwa serve did not start: {self.log.read_text()[-2000:]}")

    @property
    def worker_pid(self) -> int:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(children[0]) if children else self.process.pid

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
        self.process = None


def raw(port: int, payload: bytes, *, read_for: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=read_for) as connection:
        connection.sendall(payload)
        chunks = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
        return b"".join(chunks)


def status_and_code(answer: bytes) -> str:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head else "no answer"
    try:
        code = json.loads(body)["code"]
    except (ValueError, KeyError, TypeError):
        code = "-"
    return f"{status}/{code}"


def post_raw(port: int, path: str, body: bytes, headers: dict[str, str]) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    return status_and_code(raw(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body))


def bodies(server: Server, api_key: str) -> None:
    auth = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    invalid_utf8 = b'{"accountName": "IW\xff\xfe0001"}'
    deep = b'{"accountName": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    for name, body in (("invalid UTF-8 in a string", invalid_utf8), ("nesting 5,000 deep", deep)):
        seen = post_raw(server.port, "/intwa-api/whatsapp/account/wabaInfo", body, auth)
        record(f"wabaInfo body with {name}", "400/40000", seen)
        signature = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        seen = post_raw(server.port, "/intwa-api/whatsapp/webhook", body, {"X-Hub-Signature-256": signature})
        record(f"signed webhook with {name}", "400/40000", seen)


def methods(server: Server) -> None:
    for method, path in (
        ("OPTIONS", "/intwa-api/whatsapp/account/bind"),
        ("FOO", "/intwa-api/whatsapp/account/bind"),
        ("HEAD", "/healthz"),
        ("HEAD", "/metrics"),
    ):
        answer = raw(server.port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = answer.partition(b"\r\n\r\n")[0].decode(errors="replace").splitlines()
        allow = next((line for line in head if line.lower().startswith("allow:")), "no Allow")
        record(
            f"{method} {path}", "the envelope (405 with Allow) / 200 for HEAD", f"{status_and_code(answer)}, {allow}"
        )


def headers(server: Server) -> None:
    pid = server.worker_pid
    before = rss_kib(pid)
    latencies: list[float] = []
    done = threading.Event()

    def others() -> None:
        with httpx.Client() as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get(f"{server.url}/healthz", timeout=30)
                latencies.append(time.perf_counter() - started)

    thread = threading.Thread(target=others)
    thread.start()
    started = time.perf_counter()
    huge = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 80_000_000 + b"\r\n\r\n"
    try:
        answer = raw(server.port, huge, read_for=30)
        seen = status_and_code(answer)
    except OSError as error:
        seen = f"connection closed ({type(error).__name__})"
    took = time.perf_counter() - started
    done.set()
    thread.join()
    record(
        "80 MB header",
        "431, others unaffected",
        f"{seen} after {took:.2f} s; other clients' /healthz: max {max(latencies) * 1000:.1f} ms"
        f" over {len(latencies)} requests",
    )
    for _ in range(20):
        with suppress(OSError):
            raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10_000_000 + b"\r\n\r\n")
    record("20 x 10 MB headers", "memory flat", f"worker RSS {before // 1024} MB -> {rss_kib(pid) // 1024} MB")


def slow_clients(server: Server) -> None:
    for name, payload in (
        ("half a request line, then silence", b"GET /heal"),
        (
            "announces 10 MB, sends 10 bytes",
            b"POST /intwa-api/whatsapp/account/wabaInfo HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 10000000\r\n\r\n0123456789",
        ),
    ):
        started = time.perf_counter()
        answer = raw(server.port, payload, read_for=60)
        record(
            f"slow client: {name}",
            "closed after request_read_timeout_seconds (3 s here)",
            f"closed after {time.perf_counter() - started:.1f} s ({status_and_code(answer)})",
        )


def silent_connections(server: Server, count: int = 2000) -> None:
    held: list[socket.socket] = []
    for _ in range(count):
        try:
            held.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
        except OSError:
            break
    time.sleep(0.5)
    try:
        started = time.perf_counter()
        answer = httpx.get(f"{server.url}/healthz", timeout=5)
        seen = f"{answer.status_code} in {(time.perf_counter() - started) * 1000:.0f} ms"
    except httpx.TransportError as error:
        seen = type(error).__name__
    for connection in held:
        connection.close()
    time.sleep(0.5)
    after = httpx.get(f"{server.url}/healthz", timeout=5).status_code
    record(
        f"{len(held)} silent connections",
        "503 past server.max_connections, then normal",
        f"next request {seen}; after closing them {after}",
    )


def file_modes(folder: Path) -> None:
    found = [f"{folder.name}/ {stat.filemode(folder.stat().st_mode)}"]
    for path in sorted(folder.rglob("*")):
        if path.suffix in {".db", ".db-wal", ".db-shm"} or path.name.endswith(("-wal", "-shm")) or path.is_dir():
            found.append(f"{path.relative_to(folder)} {stat.filemode(path.stat().st_mode)}")
    record("database files and folders", "0600 / 0700", "; ".join(found))


def cli_cases(folder: Path) -> None:
    (folder / "cli").mkdir()
    missing = folder / "cli" / "never" / "intwa.db"
    server = Server(folder / "cli", f'sqlite_path = "{missing}"')
    result = server.cli("account", "list")
    record(
        "account list on a missing database",
        "says to run db migrate, exit 1, creates nothing",
        f"exit {result.returncode}: {result.stderr.strip()[:120]}; file created: {missing.exists()}",
    )
    result = subprocess.run(
        [INTWA, "account", "list", "--config", str(server.config)], capture_output=True, text=True, check=False
    )
    record("--config after the command", "accepted", f"exit {result.returncode}: {result.stderr.strip()[:80]}")
    (folder / "cli" / "ready").mkdir()
    ready = Server(folder / "cli" / "ready", f'sqlite_path = "{folder / "cli" / "ready" / "intwa.db"}"')
    assert ready.cli("db", "migrate").returncode == 0
    for name, env in (
        ("workers = 0", {"INTWA_SERVER__WORKERS": "0"}),
        ("port = -1", {"INTWA_SERVER__PORT": "-1"}),
        ("negative timeout", {"INTWA_GRAPH__TIMEOUT_SECONDS": "-1"}),
        ("INTWA_SERVER__PORT=abc", {"INTWA_SERVER__PORT": "abc"}),
        ('logging.level = "info"', {"INTWA_LOGGING__LEVEL": "info"}),
    ):
        result = ready.cli("config", "check", env=env)
        record(
            f"config with {name}",
            "an error naming key and range (info: accepted)",
            f"exit {result.returncode}: {(result.stderr or result.stdout).strip()[:140]}",
        )


def port_in_use(folder: Path) -> None:
    (folder / "busy").mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        database = folder / "busy" / "intwa.db"
        server = Server(folder / "busy", f'sqlite_path = "{database}"')
        result = server.cli("serve", "--port", str(port))
    record(
        "serve on a port in use",
        "fails before migrating, one line",
        f"exit {result.returncode}: {result.stderr.strip()[:120]}; database created: {database.exists()}",
    )


def rotate_key(server: Server, api_key: str) -> None:
    result = server.cli("account", "rotate-key", "IW0001", "--keep-old-for", "1h", "--json")
    new_key = json.loads(result.stdout)["apiKey"] if result.returncode == 0 else ""
    body = {"accountName": "IW0001"}
    old = httpx.post(
        f"{server.url}/intwa-api/whatsapp/account/wabaInfo", json=body, headers={"Authorization": f"Bearer {api_key}"}
    )
    new = httpx.post(
        f"{server.url}/intwa-api/whatsapp/account/wabaInfo", json=body, headers={"Authorization": f"Bearer {new_key}"}
    )
    record(
        "rotate-key --keep-old-for 1h",
        "old and new keys both work",
        f"exit {result.returncode}; old key {old.status_code}, new key {new.status_code}",
    )


class Proxy:
    """A TCP proxy the probe controls, between intwa and PostgreSQL; `cut()` drops and refuses connections."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = target_port
        self._open = True
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result()

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        def close_all() -> None:
            self._open = False
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(close_all)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(setattr, self, "_open", True)


def postgres_cut(folder: Path, dsn: str) -> None:
    database = f"intwa_probe_{os.getpid()}"
    admin = dsn.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {database}"], check=True, capture_output=True)
    proxy = Proxy(5432)
    through = dsn.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}").rsplit("/", 1)[0] + f"/{database}"
    (folder / "pg").mkdir()
    server = Server(folder / "pg", 'backend = "postgres"')
    env = {"INTWA_STORAGE__POSTGRES_DSN": through}
    try:
        assert server.cli("db", "migrate", env=env).returncode == 0
        key = json.loads(server.cli("account", "create", "IW0001", "--json", env=env).stdout)["apiKey"]
        os.environ["INTWA_STORAGE__POSTGRES_DSN"] = through
        server.start()
        log_before = server.log.stat().st_size
        codes: Counter[str] = Counter()
        stop = time.monotonic() + 14

        async def load() -> None:
            async with httpx.AsyncClient(timeout=10) as client:
                while time.monotonic() < stop:
                    answer = await client.post(
                        f"{server.url}/intwa-api/whatsapp/account/bind",
                        json={"accountName": "IW0001", "wabaId": WABA, "phoneNumberId": PHONE},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    retry = answer.headers.get("retry-after")
                    codes[f"{answer.status_code}/{answer.json().get('code')}{' Retry-After' if retry else ''}"] += 1

        async def outage() -> None:
            await asyncio.sleep(3)
            proxy.cut()
            await asyncio.sleep(8)
            proxy.restore()

        async def run() -> None:
            await asyncio.gather(*(load() for _ in range(8)), outage())

        asyncio.run(run())
        grown = server.log.stat().st_size - log_before
        outage_lines = [line for line in server.log.read_text().splitlines() if "storage" in line.lower()]
        record(
            "PostgreSQL cut for 8 s under bind load",
            "50301 with Retry-After, one log line per outage, recovery",
            f"answers {dict(codes)}; log grew {grown} bytes, {len(outage_lines)} storage lines",
        )
    finally:
        server.stop()
        os.environ.pop("INTWA_STORAGE__POSTGRES_DSN", None)
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)


def disk_full(folder: Path) -> None:
    mount = folder / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True).returncode:
        record("SQLite on a full disk", "50301", "skipped: cannot mount a tmpfs here")
        return
    server = Server(mount, f'sqlite_path = "{mount / "var" / "intwa.db"}"')
    try:
        assert server.cli("db", "migrate").returncode == 0
        key = json.loads(server.cli("account", "create", "IW0001", "--json").stdout)["apiKey"]
        server.start()
        filler = mount / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        auth = {"Authorization": f"Bearer {key}"}
        bind = httpx.post(
            f"{server.url}/intwa-api/whatsapp/account/bind",
            json={"accountName": "IW0001", "wabaId": WABA, "phoneNumberId": PHONE},
            headers=auth,
            timeout=30,
        )
        read = httpx.post(
            f"{server.url}/intwa-api/whatsapp/account/wabaInfo", json={"accountName": "IW0001"}, headers=auth
        )
        filler.unlink()
        again = httpx.post(
            f"{server.url}/intwa-api/whatsapp/account/bind",
            json={"accountName": "IW0001", "wabaId": WABA, "phoneNumberId": PHONE},
            headers=auth,
            timeout=30,
        )
        record(
            "SQLite on a full disk",
            "bind 503/50301 with Retry-After, reads answer, recovery",
            f"bind {bind.status_code}/{bind.json()['code']} Retry-After {bind.headers.get('retry-after')}; "
            f"wabaInfo {read.status_code}; bind after freeing space {again.status_code}/{again.json()['code']}",
        )
    finally:
        server.stop()
        subprocess.run(["umount", str(mount)], capture_output=True)


def kill_under_binds(folder: Path) -> None:
    (folder / "kill").mkdir()
    data = {
        "wabas": [
            {
                "id": f"1000000{n:05d}",
                "name": f"WABA {n}",
                "account_review_status": "APPROVED",
                "phone_numbers": [{"id": f"2000000{n:05d}", "display_phone_number": f"+62 852-{n:04d}"}],
            }
            for n in range(400)
        ]
    }
    data_path = folder / "kill" / "data.json"
    data_path.write_text(json.dumps(data))
    server = Server(folder / "kill", f'sqlite_path = "{folder / "kill" / "intwa.db"}"', str(data_path))
    assert server.cli("db", "migrate").returncode == 0
    key = json.loads(server.cli("account", "create", "IW0001", "--json").stdout)["apiKey"]
    server.start()
    acknowledged: list[str] = []

    async def binds() -> None:
        async with httpx.AsyncClient(timeout=5) as client:

            async def one(n: int) -> None:
                try:
                    answer = await client.post(
                        f"{server.url}/intwa-api/whatsapp/account/bind",
                        json={"accountName": "IW0001", "wabaId": f"1000000{n:05d}", "phoneNumberId": f"2000000{n:05d}"},
                        headers={"Authorization": f"Bearer {key}"},
                    )
                    if answer.json().get("code") == 0:
                        acknowledged.append(f"2000000{n:05d}")
                except httpx.TransportError:
                    pass

            await asyncio.gather(*(one(n) for n in range(400)))

    def kill_soon() -> None:
        # Once binds are being acknowledged, so that some are committed and others are under way.
        deadline = time.monotonic() + 10
        while len(acknowledged) < 50 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(server.worker_pid, signal.SIGKILL)
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGKILL)

    threading.Thread(target=kill_soon).start()
    asyncio.run(binds())
    if server.process is not None:
        server.process.wait()
    server.process = None
    listed = json.loads(server.cli("bindings", "IW0001", "--json").stdout)
    stored = {binding["phoneNumberId"] for binding in listed}
    lost = [phone for phone in acknowledged if phone not in stored]
    check = subprocess.run(
        ["sqlite3", str(folder / "kill" / "intwa.db"), "PRAGMA integrity_check"], capture_output=True, text=True
    )
    record(
        "kill -9 under bind load",
        "no acknowledged bind lost, database consistent",
        f"{len(acknowledged)} acknowledged, {len(stored)} stored, {len(lost)} lost;"
        f" integrity {check.stdout.strip() or check.stderr.strip()[:40]}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres-dsn",
        default=os.environ.get("INTWA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-disk", action="store_true")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="intwa-hostile-"))
    server = Server(folder, f'sqlite_path = "{folder / "var" / "intwa.db"}"')
    try:
        assert server.cli("db", "migrate").returncode == 0
        api_key = json.loads(server.cli("account", "create", "IW0001", "--json").stdout)["apiKey"]
        server.start()
        bodies(server, api_key)
        methods(server)
        headers(server)
        slow_clients(server)
        silent_connections(server)
        rotate_key(server, api_key)
        file_modes(folder / "var")
        server.stop()
        cli_cases(folder)
        port_in_use(folder)
        kill_under_binds(folder)
        if not options.skip_disk:
            disk_full(folder)
        if not options.skip_postgres:
            postgres_cut(folder, options.postgres_dsn)
    finally:
        server.stop()
        print("\n| case | wanted | seen |\n|---|---|---|")
        for case, wanted, seen in OUTCOMES:
            print(f"| {case} | {wanted} | {seen} |")
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
