"""intwa's cached reads against a bare Litestar endpoint, bind's overhead, and `intwa --help`'s start-up.

    uv run python bench/run.py [--seconds 10] [--connections 50] [--rounds 3] [--profile FILE]

Needs `wrk` (`apt-get install wrk`). On free loopback ports it starts `intwa fake-graph` standing in for
Meta, `intwa serve` pointed at it (SQLite in a temporary folder, a day-long cache TTL so that answers come
from snapshots, background sync off, logging at WARNING, one worker) and `bench/bare_app.py` twice under
uvicorn with the same server settings (`serve`'s `uvicorn_options`: its HTTP protocol with the `[server]`
limits, uvloop, no access log), answering the same paths with the exact bytes intwa answered: `bare`,
ordinary Litestar handlers (SPEC §8's reference), and `direct`, answered by a route middleware the way
intwa's account endpoints are. It creates an account,
binds a WABA with two phone numbers, and for phoneInfo and wabaInfo runs wrk against the three in rounds,
each round in an order rotated by one, resetting fake-graph's call counter first. The server's CPU time
per request comes from /proc. Servers and wrk share the machine's cores unpinned. Then it
measures bind's overhead over the provider's own latency (bench/bind_overhead.py) and the median start-up
time of `intwa --help`. With `--profile FILE`, py-spy samples intwa while wrk drives phoneInfo once more.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bind_overhead import BindOverhead, measure_bind_overhead
from machine import describe
from profile_summary import summarize
from report import Results, markdown, write_json
from wrk_runner import WrkResult, cpu_seconds, require_wrk, run_wrk, write_script, wrk_version

BENCH = Path(__file__).resolve().parent
BARE_TARGETS = {"bare": "handler", "direct": "direct"}
"""The bare apps and their `INTWA_BENCH_BARE` mode: SPEC §8's reference, and the same direct answer intwa uses."""
TARGETS = ("intwa", *BARE_TARGETS)
INTWA = str(Path(sys.executable).parent / "intwa")
GRAPH_TOKEN = "bench-graph-token"  # noqa: S105 - fake-graph's token, on loopback
ACCOUNT = "BENCH"
READ_WABA, READ_PHONES = "100000000000001", ("200000000000001", "200000000000002")
ENDPOINTS: dict[str, dict[str, str]] = {
    "phoneInfo": {"accountName": ACCOUNT, "wabaId": READ_WABA},
    "wabaInfo": {"accountName": ACCOUNT},
}


def fake_graph_data(bind_wabas: int) -> dict[str, Any]:
    """The WABA that is read (two phone numbers), and `bind_wabas` WABAs of one phone number each to bind."""

    def available(*entities: tuple[str, str]) -> dict[str, Any]:
        """Meta's `health_status` of a node that can send, with the entities Meta lists for it."""
        listed = [{"entity_type": kind, "id": node, "can_send_message": "AVAILABLE"} for kind, node in entities]
        return {"can_send_message": "AVAILABLE", "entities": listed}

    def portfolio(waba_id: str) -> tuple[tuple[str, str], ...]:
        return (("WABA", waba_id), ("BUSINESS", "506914307656634"), ("APP", "634974688087057"))

    def phone(phone_id: str, number: str, waba_id: str = READ_WABA) -> dict[str, Any]:
        return {
            "id": phone_id,
            "display_phone_number": number,
            "verified_name": "Bench Business",
            "status": "CONNECTED",
            "quality_rating": "GREEN",
            "whatsapp_business_manager_messaging_limit": "TIER_1K",
            "health_status": available(("PHONE_NUMBER", phone_id), *portfolio(waba_id)),
            "name_status": "APPROVED",
            "code_verification_status": "VERIFIED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
        }

    read = {
        "id": READ_WABA,
        "name": "Bench WABA",
        "account_review_status": "APPROVED",
        "business_verification_status": "verified",
        "health_status": available(*portfolio(READ_WABA)),
        "phone_numbers": [phone(READ_PHONES[0], "+62 852-0000-0001"), phone(READ_PHONES[1], "+62 852-0000-0002")],
    }
    wabas = [read] + [
        {
            "id": f"3000{index:011d}",
            "name": f"Bind WABA {index}",
            "account_review_status": "APPROVED",
            "phone_numbers": [
                phone(f"4000{index:011d}", f"+62 853-{index // 10000:04d}-{index % 10000:04d}", f"3000{index:011d}")
            ],
        }
        for index in range(bind_wabas)
    ]
    return {"wabas": wabas}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until(ready: Any, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {what} exited with {process.returncode}; see its log in the temporary folder")
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"bench: {what} did not start in 30 s")


class Servers:
    """The processes the benchmark starts; each logs to a file in the temporary folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(command, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure_help(runs: int) -> float:
    """Median wall time of `intwa --help`, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([INTWA, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Bench:
    """fake-graph, intwa and the bare app on free loopback ports, and the runs against them."""

    def __init__(self, args: argparse.Namespace, folder: Path) -> None:
        self.args, self.folder, self.wrk = args, folder, require_wrk()
        self.graph_url = f"http://127.0.0.1:{free_port()}"
        self.urls = {target: f"http://127.0.0.1:{free_port()}" for target in TARGETS}
        self.intwa_url = self.urls["intwa"]
        env = {**os.environ, "INTWA_BENCH_ANSWERS": str(folder / "answers.json")}
        env.pop("INTWA_CONFIG", None)
        env.update(
            {
                "INTWA_STORAGE__SQLITE_PATH": str(folder / "intwa.db"),
                "INTWA_PROVIDER__BACKEND": "graph",
                "INTWA_GRAPH__BASE_URL": self.graph_url,
                "INTWA_GRAPH__ACCESS_TOKEN": GRAPH_TOKEN,
                "INTWA_CACHE__TTL_SECONDS": "86400",
                "INTWA_SYNC__INTERVAL_SECONDS": "0",
                "INTWA_LOGGING__LEVEL": "WARNING",
                "INTWA_SERVER__WORKERS": "1",
            }
        )
        self.env = env
        self.servers = Servers(folder, env)
        self.api_key = ""
        self.pids = dict.fromkeys(TARGETS, 0)

    def start(self) -> None:
        """Start the servers, create the account, bind the WABA that is read, and give the bare app its bytes."""
        data = self.folder / "graph.json"
        data.write_text(json.dumps(fake_graph_data(self.args.binds)), encoding="utf-8")
        port = self.graph_url.rsplit(":", 1)[1]
        graph = self.servers.start("fake-graph", [INTWA, "fake-graph", "--port", port, "--data", str(data)])
        wait_until(lambda: httpx.get(f"{self.graph_url}/healthz").status_code == 200, graph, "intwa fake-graph")
        port = self.intwa_url.rsplit(":", 1)[1]
        intwa = self.servers.start("intwa", [INTWA, "serve", "--port", port, "--workers", "1"])
        wait_until(lambda: httpx.get(f"{self.intwa_url}/healthz").status_code == 200, intwa, "intwa serve")
        self.pids["intwa"] = intwa.pid

        command = [INTWA, "account", "create", ACCOUNT, "--json"]
        self.api_key = json.loads(subprocess.run(command, env=self.env, capture_output=True, check=True).stdout)[
            "apiKey"
        ]
        for phone_id in READ_PHONES:
            self._answer("bind", {"accountName": ACCOUNT, "wabaId": READ_WABA, "phoneNumberId": phone_id})
        answers = {endpoint: self._answer(endpoint, body) for endpoint, body in ENDPOINTS.items()}
        (self.folder / "answers.json").write_text(json.dumps(answers), encoding="utf-8")

        for target in BARE_TARGETS:
            self._start_bare(target)

    def _start_bare(self, target: str) -> None:
        """A bare app under uvicorn with intwa's settings; `INTWA_BENCH_BARE` picks how it answers."""
        port = self.urls[target].rsplit(":", 1)[1]
        command = [sys.executable, str(BENCH / "bare_app.py"), port]
        bare = self.servers.start(target, command, env={"INTWA_BENCH_BARE": BARE_TARGETS[target]})
        probe = f"{self.urls[target]}/intwa-api/whatsapp/account/wabaInfo"
        wait_until(lambda: httpx.post(probe).status_code == 200, bare, f"the {target} app")
        self.pids[target] = bare.pid

    def _answer(self, endpoint: str, body: dict[str, str]) -> str:
        url = f"{self.intwa_url}/intwa-api/whatsapp/account/{endpoint}"
        response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {self.api_key}"})
        if response.json()["code"] != 0:
            raise SystemExit(f"bench: {endpoint} failed: {response.text}")
        return response.content.decode()

    def _wrk(self, url: str, script: Path, seconds: float, pid: int | None = None) -> WrkResult:
        """A wrk run; with the server's `pid`, also the CPU time that process spent meanwhile."""
        args = self.args
        cpu_before = cpu_seconds(pid) if pid else 0.0
        result = run_wrk(self.wrk, url, script, seconds=seconds, connections=args.connections, threads=args.threads)
        if pid:
            result = dataclasses.replace(result, server_cpu_seconds=cpu_seconds(pid) - cpu_before)
        return result

    def compare(self, endpoint: str, results: Results) -> None:
        """Alternate wrk runs against intwa and the bare apps; count the provider calls intwa made meanwhile.

        Each round runs every target once, in an order rotated by one from the previous round's.
        """
        script = write_script(self.folder, endpoint, ENDPOINTS[endpoint], self.api_key)
        path = f"/intwa-api/whatsapp/account/{endpoint}"
        for target in TARGETS:
            self._wrk(f"{self.urls[target]}{path}", script, self.args.warm_up)
        httpx.delete(f"{self.graph_url}/_fake/calls")
        runs: dict[str, list[WrkResult]] = {target: [] for target in TARGETS}
        for round_ in range(self.args.rounds):
            shift = round_ % len(TARGETS)
            for target in TARGETS[shift:] + TARGETS[:shift]:
                result = self._wrk(f"{self.urls[target]}{path}", script, self.args.seconds, self.pids[target])
                runs[target].append(result)
                print(
                    f"{endpoint} round {round_ + 1} {target}: {result.requests_per_second:,.0f} req/s, "
                    f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, "
                    f"server CPU {result.server_cpu_us_per_request:.1f} µs/request",
                    flush=True,
                )
        calls = sum(httpx.get(f"{self.graph_url}/_fake/calls").json().values())
        results.runs[endpoint] = runs
        results.provider_calls_per_1000[endpoint] = calls * 1000 / sum(r.requests for r in runs["intwa"])

    def profile_phone_info(self, output: Path) -> list[str]:
        """py-spy samples intwa while wrk drives phoneInfo (pausing it at each sample, so the stacks are whole)."""
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        seconds = f"{self.args.seconds:g}"
        record = [py_spy, "record", "--pid", str(self.pids["intwa"]), "--duration", seconds, "--rate", "200"]
        spy = subprocess.Popen([*record, "--format", "raw", "--output", str(output)])
        time.sleep(1)
        script = write_script(self.folder, "phoneInfo", ENDPOINTS["phoneInfo"], self.api_key)
        self._wrk(f"{self.intwa_url}/intwa-api/whatsapp/account/phoneInfo", script, self.args.seconds)
        spy.wait(timeout=60)
        return summarize(output, top=25)

    def bind_overhead(self) -> BindOverhead:
        wabas = fake_graph_data(self.args.binds)["wabas"][1:]
        return asyncio.run(
            measure_bind_overhead(
                intwa_url=self.intwa_url,
                api_key=self.api_key,
                account=ACCOUNT,
                graph_url=self.graph_url,
                graph_token=GRAPH_TOKEN,
                wabas=[(waba["id"], waba["phone_numbers"][0]["id"]) for waba in wabas],
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one wrk run")
    parser.add_argument("--warm-up", type=float, default=2.0, help="an unrecorded wrk run per server and endpoint")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three servers per endpoint; 0 skips them")
    parser.add_argument("--binds", type=int, default=200, help="binds for the overhead measurement")
    parser.add_argument("--help-runs", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="write py-spy's raw samples of a phoneInfo run here")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--tmp-dir", type=Path, help="where the temporary folder (and the SQLite file) goes")
    args = parser.parse_args()
    settings = (
        f"wrk -t{args.threads} -c{args.connections}, {args.rounds} rounds of {args.seconds:g} s per server and "
        f"endpoint (intwa, bare, direct; the order rotated each round) after a {args.warm_up:g} s warm-up of "
        "each server, servers and wrk unpinned"
    )

    with tempfile.TemporaryDirectory(prefix="intwa-bench-", dir=args.tmp_dir) as name:
        bench = Bench(args, Path(name))
        results = Results(machine=describe(wrk_version(bench.wrk), Path(name)), settings=settings)
        try:
            bench.start()
            for endpoint in ENDPOINTS if args.rounds else ():
                bench.compare(endpoint, results)
            if args.profile:
                results.profile = bench.profile_phone_info(args.profile)
            results.bind = bench.bind_overhead()
        finally:
            bench.servers.stop()
    results.help_seconds, results.help_runs = measure_help(args.help_runs), args.help_runs
    print("\n" + "\n".join(markdown(results)))
    if args.json:
        write_json(results, args.json)


if __name__ == "__main__":
    main()
