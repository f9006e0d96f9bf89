"""Driving a server with wrk: a Lua script that posts one JSON body, and its results as numbers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

RESULT_MARK = "BENCH_RESULT "

# wrk calls `done` once at the end with its own latency histogram (microseconds); the line it writes is
# the only output parsed, so wrk's human-readable report can change without breaking the harness.
_SCRIPT = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{mark}{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"socket_errors": %d, "non_2xx": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput and latency as wrk measured them."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    server_cpu_seconds: float = 0.0
    """CPU time (user + system) the server process spent during the run; 0 when not measured."""

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def server_cpu_us_per_request(self) -> float:
        return self.server_cpu_seconds * 1e6 / self.requests if self.requests else 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from `/proc/<pid>/stat` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def require_wrk() -> str:
    """wrk's path, or exit with how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("bench: `wrk` is not on PATH; install it with `apt-get install wrk` (Debian/Ubuntu)")
    return path


def wrk_version(wrk: str) -> str:
    completed = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (completed.stdout or completed.stderr).splitlines()[0].strip()


def write_script(folder: Path, name: str, body: dict[str, str], api_key: str) -> Path:
    """A Lua script posting `body` with the account's key; `name` names the file."""
    script = folder / f"{name}.lua"
    script.write_text(_SCRIPT.format(body=json.dumps(body), key=api_key, mark=RESULT_MARK), encoding="utf-8")
    return script


def run_wrk(wrk: str, url: str, script: Path, *, seconds: float, connections: int, threads: int) -> WrkResult:
    """Run wrk against `url` for `seconds`, and read the line the script's `done` wrote."""
    completed = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((line for line in completed.stdout.splitlines() if line.startswith(RESULT_MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line.removeprefix(RESULT_MARK))
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        socket_errors=raw["socket_errors"],
        non_2xx=raw["non_2xx"],
    )
