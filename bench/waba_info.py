"""wabaInfo at 300 bound WABAs past the memory layer, and the first reads while Meta does not answer.

    uv run python bench/waba_info.py [--waba-info] [--outage] [--backends sqlite,postgres] [--json FILE]

Two measurements; without `--waba-info` or `--outage` both run.

`--waba-info` (SPEC §8: p99 under 20 ms on SQLite and on PostgreSQL): for each backend of `--backends`, a
store of its own (a SQLite file in a temporary folder, or a new database on the PostgreSQL server of
`--postgres-dsn`, dropped at the end), a fake-provider data file (SPEC §5.1) of `--accounts` accounts of
`--wabas` WABAs with one or two phone numbers each, and a config file: `provider.backend = "fake"`,
`cache.ttl_seconds = 3600` (every snapshot stays fresh), background sync off, logging at WARNING. The store
is migrated, the accounts created and every WABA bound through the product's own use cases in this process;
then a real `intwa serve` (one worker) answers `POST …/wabaInfo` to one httpx client, one request at a time,
cycling through the accounts so that each is asked again only after more than a second (the memory layer
keeps reads for at most one second, so every measured read misses it and goes to the store). After an
unrecorded round over the accounts, `--samples` requests are timed; every answer must have code 0 and one
item per WABA. A last few requests repeated at once show the same read answered from the memory layer.

`--outage` (SPEC §3.7: the first read while Meta stalls is answered within `cache.refresh_wait_seconds` +
0.2 s): `intwa serve` with `provider.backend = "graph"` pointed at a local TCP proxy of this script in front
of `intwa fake-graph`; `graph.timeout_seconds = 10`, `graph.max_retries = 3`, `cache.ttl_seconds = 1`,
`cache.refresh_wait_seconds = --refresh-wait` (left out with `--no-refresh-wait-key`, for a product that does
not know the key). For each of `--trials` trials an account with one WABA (for phoneInfo) and an account
with `--outage-wabas` WABAs (for wabaInfo) are created and bound while the proxy passes calls through; then
the proxy stalls — it accepts connections, reads what comes and never answers — and after the TTL and the
memory layer's second have passed, the first phoneInfo and the first wabaInfo of each trial are timed, each
for WABAs nobody has read since they went stale, with a client timeout of `--client-timeout` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from freshness import storage_settings
from machine import describe
from run import INTWA, Servers, free_port

from intwa.container import MEMORY_MAX_AGE_SECONDS, build_container
from intwa.entrypoints.composition import resolve
from intwa.settings import load_settings

API = "/intwa-api/whatsapp/account"
GRAPH_TOKEN = "bench-graph-token"  # noqa: S105 - the fake Graph's token, on loopback
DEFAULT_POSTGRES_DSN = os.environ.get("INTWA_TEST_POSTGRES_DSN") or "postgresql://postgres@127.0.0.1:5432/postgres"
GOAL_P99_MS = 20.0
"""SPEC §8: wabaInfo at 300 WABAs, read past the memory layer, p99 under 20 ms."""
REFRESH_WAIT_MARGIN_SECONDS = 0.2
"""The allowance on top of `cache.refresh_wait_seconds` for the first read during an outage."""
HOT_REPEATS = 20


def clean_env() -> dict[str, str]:
    """This process's environment without `INTWA_*` variables: the config files say everything."""
    return {name: value for name, value in os.environ.items() if not name.startswith("INTWA_")}


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines: list[str] = []
    for section, values in sections.items():
        lines += [f"[{section}]", *(f"{key} = {toml_value(value)}" for key, value in values.items()), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def storage_section(storage: dict[str, str]) -> dict[str, str]:
    """`freshness.storage_settings`' `INTWA_STORAGE__*` variables as the config file's `[storage]` keys."""
    section = {"backend": "sqlite"}
    section.update({name.removeprefix("INTWA_STORAGE__").lower(): value for name, value in storage.items()})
    return section


def phone(phone_id: str, digits: str) -> dict[str, str]:
    return {
        "id": phone_id,
        "display_phone_number": f"+{digits[:2]} {digits[2:5]}-{digits[5:9]}-{digits[9:]}",
        "verified_name": "Bench Business",
        "status": "CONNECTED",
        "quality_rating": "GREEN",
        "whatsapp_business_manager_messaging_limit": "TIER_1K",
    }


def waba(waba_id: str, name: str, phones: int) -> dict[str, Any]:
    """A WABA of the fake data with `phones` phone numbers; ids and numbers derived from the WABA's id."""
    return {
        "id": waba_id,
        "name": name,
        "account_review_status": "APPROVED",
        "phone_numbers": [phone(f"{waba_id}{n}", f"62{waba_id[-10:]}{n}") for n in range(phones)],
    }


def start_server(servers: Servers, name: str, command: list[str], url: str) -> None:
    """Start a server and wait for its `/healthz`; on failure say why, with its log's last lines."""
    process = servers.start(name, command)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (servers.folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")
            hint = ""
            if "refresh_wait_seconds" in log:
                hint = "\nthis product does not know `cache.refresh_wait_seconds`: run with --no-refresh-wait-key"
            tail = "\n".join(log.splitlines()[-8:])
            raise SystemExit(f"bench: {name} exited with {process.returncode}:\n{tail}{hint}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise SystemExit(f"bench: {name} did not start in 30 s")


async def create_accounts(config: Path, names: list[str], bindings: dict[str, list[tuple[str, str]]]) -> dict[str, str]:
    """Migrate the store of `config`, create the accounts and bind their (WABA, phone number) pairs.

    Through the product's own use cases in this process, a few binds at a time; returns each account's key.
    """
    container = build_container(load_settings(config, environ={}))
    try:
        await (await resolve(container.storage)).migrate()
        accounts = await resolve(container.accounts)
        bind = await resolve(container.bind_phone_number)
        keys = {}
        for name in names:
            keys[name] = (await accounts.create(name)).api_key
            pairs = bindings.get(name, [])
            for start in range(0, len(pairs), 16):
                await asyncio.gather(
                    *(bind(name, waba_id, phone_id) for waba_id, phone_id in pairs[start : start + 16])
                )
        return keys
    finally:
        await resolve(container.shutdown_resources)


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


async def postgres_version(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


def waba_info_data(accounts: int, wabas: int) -> tuple[dict[str, Any], dict[str, list[tuple[str, str]]]]:
    """The fake data, and per account the (WABA, first phone number) pairs to bind."""
    data: list[dict[str, Any]] = []
    bindings: dict[str, list[tuple[str, str]]] = {}
    for account in range(accounts):
        name = f"WI{account:03d}"
        for index in range(wabas):
            node = waba(f"71{account:03d}{index:07d}", f"Bench WABA {account}-{index}", 1 + index % 2)
            data.append(node)
            bindings.setdefault(name, []).append((node["id"], node["phone_numbers"][0]["id"]))
    return {"wabas": data}, bindings


def sample_waba_info(url: str, keys: dict[str, str], wabas: int, samples: int, gap: float) -> dict[str, Any]:
    """Time wabaInfo over the accounts in turn, each asked again only `gap` seconds after its last answer."""
    names = list(keys)
    last_answer = dict.fromkeys(names, -math.inf)
    latencies: list[float] = []
    failures: list[str] = []

    def ask(client: httpx.Client, name: str) -> float:
        started = time.perf_counter()
        response = client.post(
            f"{API}/wabaInfo", json={"accountName": name}, headers={"Authorization": f"Bearer {keys[name]}"}
        )
        elapsed = time.perf_counter() - started
        body = response.json()
        if body.get("code") != 0 or len(body.get("data") or []) != wabas:
            failures.append(f"{name}: code {body.get('code')}, {len(body.get('data') or [])} items")
        return elapsed

    with httpx.Client(base_url=url, timeout=30) as client:
        for turn in range(len(names) + samples):  # the first round over the accounts is not recorded
            name = names[turn % len(names)]
            wait = last_answer[name] + gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elapsed = ask(client, name)
            last_answer[name] = time.monotonic()
            if turn >= len(names):
                latencies.append(elapsed * 1000)
        hot = sorted(ask(client, names[0]) * 1000 for _ in range(HOT_REPEATS))
    ordered = sorted(latencies)
    return {
        "samples": len(ordered),
        "p50_ms": percentile(ordered, 0.50),
        "p90_ms": percentile(ordered, 0.90),
        "p99_ms": percentile(ordered, 0.99),
        "max_ms": ordered[-1],
        "mean_ms": statistics.fmean(ordered),
        "memory_layer_p50_ms": percentile(hot, 0.50),
        "failures": len(failures),
        "first_failures": failures[:3],
        "goal_met": percentile(ordered, 0.99) < GOAL_P99_MS and not failures,
    }


def run_waba_info(args: argparse.Namespace, folder: Path, backend: str) -> dict[str, Any]:
    data, bindings = waba_info_data(args.accounts, args.wabas)
    data_file = folder / "waba-info-data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    with storage_settings(backend, str(folder / backend), args.postgres_dsn) as storage:
        (folder / backend).mkdir(exist_ok=True)
        config = write_config(
            folder / f"waba-info-{backend}.toml",
            {
                "server": {"host": "127.0.0.1", "workers": 1},
                "storage": storage_section(storage),
                "provider": {"backend": "fake", "fake_data": str(data_file)},
                "cache": {"ttl_seconds": 3600, "max_stale_seconds": 86400},
                "sync": {"interval_seconds": 0},
                "logging": {"level": "WARNING", "access_log": False},
            },
        )
        started = time.perf_counter()
        keys = asyncio.run(create_accounts(config, list(bindings), bindings))
        setup_seconds = time.perf_counter() - started
        print(f"wabaInfo {backend}: {sum(map(len, bindings.values()))} bindings stored in {setup_seconds:.1f} s")
        url = f"http://127.0.0.1:{free_port()}"
        servers = Servers(folder, clean_env())
        try:
            command = [INTWA, "--config", str(config), "serve", "--port", url.rsplit(":", 1)[1], "--workers", "1"]
            start_server(servers, f"intwa-{backend}", command, url)
            result = sample_waba_info(url, keys, args.wabas, args.samples, args.gap)
        finally:
            servers.stop()
    result["setup_seconds"] = setup_seconds
    print(
        f"wabaInfo {backend}: p50 {result['p50_ms']:.2f} ms, p90 {result['p90_ms']:.2f}, "
        f"p99 {result['p99_ms']:.2f}, max {result['max_ms']:.2f} ({result['samples']} samples, "
        f"{result['failures']} wrong answers)",
        flush=True,
    )
    return result


class StallingProxy:
    """A TCP proxy to `intwa fake-graph` that, once stalled, accepts connections and never answers.

    It runs its own event loop in a thread. `stall()` closes the connections it passed through (so the
    client's pooled connections go too) and from then on reads and drops whatever arrives.
    """

    def __init__(self, upstream_port: int) -> None:
        self.port = free_port()
        self.upstream_port = upstream_port
        self.stalled = False
        self.stalled_connections = 0
        self._passed: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="stalling proxy", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port), self._loop
        ).result(timeout=10)

    def stall(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stall(), self._loop).result(timeout=10)

    def close(self) -> None:
        if not self._thread.is_alive():
            return

        async def shut() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._passed):
                writer.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _stall(self) -> None:
        self.stalled = True
        for writer in list(self._passed):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.stalled:
            self.stalled_connections += 1
            with contextlib.suppress(OSError):
                while await reader.read(65536):
                    pass  # Meta has the request and says nothing
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._passed.update((writer, upstream_writer))
        try:
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        finally:
            self._passed.difference_update((writer, upstream_writer))
            writer.close()
            upstream_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()


def outage_data(trials: int, wabas: int) -> dict[str, Any]:
    return {
        "wabas": [
            waba(f"81{trial:03d}{index:07d}", f"Outage WABA {trial}-{index}", 1 + index % 2)
            for trial in range(trials)
            for index in range(1 + wabas)
        ]
    }


def timed_read(client: httpx.Client, endpoint: str, trial: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    """The trial's phoneInfo (its first WABA) or wabaInfo (its other WABAs): seconds, code, items, or a timeout."""
    if endpoint == "phoneInfo":
        name, body, expected = (
            trial["phone"],
            {"accountName": trial["phone"], "wabaId": trial["ids"][0]},
            trial["phones"],
        )
    else:
        name, body, expected = trial["waba"], {"accountName": trial["waba"]}, len(trial["ids"]) - 1
    read: dict[str, Any] = {"code": None, "items": None, "expected_items": expected, "timed_out": False}
    started = time.perf_counter()
    try:
        response = client.post(f"{API}/{endpoint}", json=body, headers={"Authorization": f"Bearer {keys[name]}"})
    except httpx.TimeoutException:
        read["timed_out"] = True
    else:
        answer = response.json()
        read.update(code=answer.get("code"), items=len(answer.get("data") or []))
    read["seconds"] = time.perf_counter() - started
    return read


def run_outage(args: argparse.Namespace, folder: Path, backend: str) -> dict[str, Any]:
    data = outage_data(args.trials, args.outage_wabas)
    data_file = folder / "outage-data.json"
    data_file.write_text(json.dumps(data), encoding="utf-8")
    wabas = {node["id"]: node for node in data["wabas"]}
    per_trial = 1 + args.outage_wabas
    ids = list(wabas)
    trials: list[dict[str, Any]] = []
    for trial in range(args.trials):
        trial_ids = ids[trial * per_trial : (trial + 1) * per_trial]
        phones = len(wabas[trial_ids[0]]["phone_numbers"])
        trials.append({"phone": f"OP{trial:03d}", "waba": f"OW{trial:03d}", "ids": trial_ids, "phones": phones})
    cache: dict[str, Any] = {"ttl_seconds": args.ttl, "max_stale_seconds": 86400}
    if not args.no_refresh_wait_key:
        cache["refresh_wait_seconds"] = args.refresh_wait
    servers = Servers(folder, clean_env())
    graph_port = free_port()
    proxy = StallingProxy(graph_port)
    with storage_settings(backend, str(folder / f"outage-{backend}"), args.postgres_dsn) as storage:
        (folder / f"outage-{backend}").mkdir(exist_ok=True)
        config = write_config(
            folder / f"outage-{backend}.toml",
            {
                "server": {"host": "127.0.0.1", "workers": 1},
                "storage": storage_section(storage),
                "provider": {"backend": "graph"},
                "graph": {
                    "base_url": f"http://127.0.0.1:{proxy.port}",
                    "access_token": GRAPH_TOKEN,
                    "timeout_seconds": 10.0,
                    "max_retries": 3,
                },
                "cache": cache,
                "sync": {"interval_seconds": 0},
                "logging": {"level": "WARNING", "access_log": False},
            },
        )
        url = f"http://127.0.0.1:{free_port()}"
        try:
            fake_graph = [INTWA, "fake-graph", "--port", str(graph_port), "--data", str(data_file)]
            start_server(servers, f"fake-graph-{backend}", fake_graph, f"http://127.0.0.1:{graph_port}")
            proxy.start()
            command = [INTWA, "--config", str(config), "serve", "--port", url.rsplit(":", 1)[1], "--workers", "1"]
            start_server(servers, f"intwa-outage-{backend}", command, url)
            names = [name for trial in trials for name in (trial["phone"], trial["waba"])]
            keys = asyncio.run(create_accounts(config, names, {}))
            reads = serve_stale_during_outage(url, keys, trials, wabas, args, proxy)
        finally:
            servers.stop()
            proxy.close()
    seconds = [read["seconds"] for trial in reads for read in (trial["phoneInfo"], trial["wabaInfo"])]
    limit = args.refresh_wait + REFRESH_WAIT_MARGIN_SECONDS
    result = {
        "refresh_wait_seconds": None if args.no_refresh_wait_key else args.refresh_wait,
        "limit_seconds": limit,
        "trials": reads,
        "max_seconds": max(seconds),
        "stalled_connections": proxy.stalled_connections,
        "goal_met": max(seconds) <= limit
        and all(
            read["code"] == 0 and read["items"] == read["expected_items"]
            for trial in reads
            for read in (trial["phoneInfo"], trial["wabaInfo"])
        ),
    }
    print(f"outage {backend}: max {result['max_seconds']:.2f} s (limit {limit:.1f} s)", flush=True)
    return result


def serve_stale_during_outage(
    url: str,
    keys: dict[str, str],
    trials: list[dict[str, Any]],
    wabas: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    proxy: StallingProxy,
) -> list[dict[str, Any]]:
    """Bind and read while Meta answers; stall it; time each trial's first phoneInfo and first wabaInfo."""
    with httpx.Client(base_url=url, timeout=args.client_timeout) as client:
        for trial in trials:
            pairs = [(trial["phone"], trial["ids"][0])] + [(trial["waba"], waba_id) for waba_id in trial["ids"][1:]]
            for name, waba_id in pairs:
                phone_id = wabas[waba_id]["phone_numbers"][0]["id"]
                bound = client.post(
                    f"{API}/bind",
                    json={"accountName": name, "wabaId": waba_id, "phoneNumberId": phone_id},
                    headers={"Authorization": f"Bearer {keys[name]}"},
                ).json()
                if bound["code"] != 0:
                    raise SystemExit(f"bench: bind of {waba_id} failed: {bound}")
            for endpoint in ("phoneInfo", "wabaInfo"):
                read = timed_read(client, endpoint, trial, keys)
                if read["code"] != 0 or read["items"] != read["expected_items"]:
                    raise SystemExit(f"bench: {endpoint} failed while Meta answered: {read}")
        proxy.stall()
        time.sleep(max(args.ttl, MEMORY_MAX_AGE_SECONDS) + 1.2)  # every snapshot stale, the memory layer empty
        reads: list[dict[str, Any]] = []
        for index, trial in enumerate(trials, 1):
            reads.append({})
            for endpoint in ("phoneInfo", "wabaInfo"):
                reads[-1][endpoint] = read = timed_read(client, endpoint, trial, keys)
                print(f"outage trial {index}: {endpoint} {describe_read(read)}", flush=True)
    return reads


def describe_read(read: dict[str, Any]) -> str:
    if read["timed_out"]:
        return f"no answer within the client's timeout ({read['seconds']:.1f} s)"
    return f"{read['seconds']:.3f} s, code {read['code']}, {read['items']} items"


def report(results: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = [f"- {key}: {value}" for key, value in results["machine"].items()]
    if "waba_info" in results:
        lines += [
            "",
            f"wabaInfo, {args.accounts} accounts × {args.wabas} WABAs, each account asked again after "
            f"{args.gap:g} s (past the memory layer), {args.samples} samples per backend, one client:",
            "",
            "| backend | p50 ms | p90 ms | p99 ms | max ms | wrong answers | memory-layer hit p50 ms | p99 < 20 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for backend, m in results["waba_info"].items():
            lines.append(
                f"| {backend} | {m['p50_ms']:.2f} | {m['p90_ms']:.2f} | {m['p99_ms']:.2f} | {m['max_ms']:.2f} "
                f"| {m['failures']} | {m['memory_layer_p50_ms']:.2f} | {'met' if m['goal_met'] else 'not met'} |"
            )
    for backend, outage in results.get("outage", {}).items():
        wait = outage["refresh_wait_seconds"]
        key = "left out" if wait is None else f"{wait:g} s"
        lines += [
            "",
            f"First reads while Meta stalls ({backend}; refresh_wait_seconds {key}; graph.timeout_seconds 10, "
            f"max_retries 3; client timeout {args.client_timeout:g} s; wabaInfo over {args.outage_wabas} WABAs):",
            "",
            "| trial | phoneInfo s | wabaInfo s |",
            "|---:|---:|---:|",
        ]
        for index, trial in enumerate(outage["trials"], 1):
            cells = [cell(trial[endpoint]) for endpoint in ("phoneInfo", "wabaInfo")]
            lines.append(f"| {index} | {cells[0]} | {cells[1]} |")
        verdict = "yes" if outage["goal_met"] else "no"
        lines.append(
            f"\nmax {outage['max_seconds']:.3f} s; within {outage['limit_seconds']:.1f} s "
            f"(refresh wait + {REFRESH_WAIT_MARGIN_SECONDS:g} s) with code 0 and every item: **{verdict}**; "
            f"connections the stalled Graph accepted: {outage['stalled_connections']}"
        )
    lines.append("\nload average at the end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    return lines


def cell(read: dict[str, Any]) -> str:
    if read["timed_out"]:
        return f"> {read['seconds']:.1f} (no answer)"
    wrong = read["code"] != 0 or read["items"] != read["expected_items"]
    suffix = f" (code {read['code']}, {read['items']} items)" if wrong else ""
    return f"{read['seconds']:.3f}{suffix}"


def machine(folder: Path, backends: set[str], dsn: str) -> dict[str, str]:
    facts = describe(f"httpx {metadata.version('httpx')}, one client, one request at a time", folder)
    if "postgres" in backends:
        facts["PostgreSQL server"] = asyncio.run(postgres_version(dsn))
        facts["asyncpg"] = metadata.version("asyncpg")
    return facts


def backend_list(value: str) -> list[str]:
    backends = [name.strip() for name in value.split(",") if name.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown or not backends:
        raise argparse.ArgumentTypeError(f"backends are sqlite and postgres, not {', '.join(sorted(unknown))}")
    return backends


@contextlib.contextmanager
def temporary_folder(parent: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="intwa-bench-waba-info-", dir=parent) as name:
        yield Path(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waba-info", action="store_true", help="run the wabaInfo measurement")
    parser.add_argument("--outage", action="store_true", help="run the outage measurement")
    parser.add_argument("--backends", type=backend_list, default=["sqlite", "postgres"], help="for --waba-info")
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--wabas", type=int, default=300, help="WABAs bound to each account")
    parser.add_argument("--samples", type=int, default=200, help="timed wabaInfo requests per backend")
    parser.add_argument(
        "--gap", type=float, default=MEMORY_MAX_AGE_SECONDS + 0.1, help="seconds between reads of one account"
    )
    parser.add_argument("--outage-backends", type=backend_list, default=["sqlite"], help="for --outage")
    parser.add_argument("--trials", type=int, default=3, help="outage trials (a phoneInfo and a wabaInfo each)")
    parser.add_argument("--outage-wabas", type=int, default=3, help="WABAs of each outage wabaInfo account")
    parser.add_argument("--ttl", type=float, default=1.0, help="cache.ttl_seconds in the outage measurement")
    parser.add_argument("--refresh-wait", type=float, default=1.0, help="cache.refresh_wait_seconds")
    parser.add_argument(
        "--no-refresh-wait-key", action="store_true", help="leave cache.refresh_wait_seconds out of the config"
    )
    parser.add_argument("--client-timeout", type=float, default=60.0, help="seconds an outage read may take")
    parser.add_argument(
        "--postgres-dsn", default=DEFAULT_POSTGRES_DSN, help="a server where the user may create databases"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--tmp-dir", type=Path, help="where the temporary folder (and the SQLite files) goes")
    args = parser.parse_args()
    run_both = not (args.waba_info or args.outage)

    backends = set(args.backends if args.waba_info or run_both else ())
    backends |= set(args.outage_backends if args.outage or run_both else ())
    with temporary_folder(args.tmp_dir) as folder:
        results: dict[str, Any] = {"machine": machine(folder, backends, args.postgres_dsn)}
        if args.waba_info or run_both:
            results["waba_info"] = {backend: run_waba_info(args, folder, backend) for backend in args.backends}
        if args.outage or run_both:
            results["outage"] = {backend: run_outage(args, folder, backend) for backend in args.outage_backends}
    print("\n" + "\n".join(report(results, args)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
