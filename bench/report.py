"""The benchmark's results as Markdown, ready for docs/benchmarks.md, and optionally as JSON."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from pathlib import Path
from typing import Any

from bind_overhead import BindOverhead
from wrk_runner import WrkResult

HEADER = (
    "| endpoint | intwa req/s | bare req/s | **ratio** (rounds) | direct req/s | ratio to direct "
    "| p50 / p99 ms intwa · bare · direct | server CPU µs/request intwa · bare · direct | Graph calls / 1k |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
)


@dataclasses.dataclass
class Results:
    """Everything one run of the harness measured."""

    machine: dict[str, str]
    settings: str
    runs: dict[str, dict[str, list[WrkResult]]] = dataclasses.field(default_factory=dict)
    provider_calls_per_1000: dict[str, float] = dataclasses.field(default_factory=dict)
    bind: BindOverhead | None = None
    help_seconds: float = 0.0
    help_runs: int = 0
    profile: list[str] = dataclasses.field(default_factory=list)


def _medians(results: list[WrkResult]) -> dict[str, float]:
    return {
        "requests_per_second": statistics.median(r.requests_per_second for r in results),
        "p50_ms": statistics.median(r.p50_ms for r in results),
        "p99_ms": statistics.median(r.p99_ms for r in results),
        "server_cpu_us_per_request": statistics.median(r.server_cpu_us_per_request for r in results),
        "failed_requests": sum(r.socket_errors + r.non_2xx for r in results),
    }


def _round_ratios(intwa: list[WrkResult], other: list[WrkResult]) -> list[float]:
    """intwa's requests/s over the other target's, round by round (runs of one round are minutes apart at most)."""
    return [a.requests_per_second / b.requests_per_second for a, b in zip(intwa, other, strict=True)]


def summary(results: Results) -> dict[str, Any]:
    endpoints = {}
    for endpoint, by_target in results.runs.items():
        medians = {target: _medians(runs) for target, runs in by_target.items()}
        bare_rounds = _round_ratios(by_target["intwa"], by_target["bare"])
        direct_rounds = _round_ratios(by_target["intwa"], by_target["direct"])
        endpoints[endpoint] = {
            **medians,
            "ratio": medians["intwa"]["requests_per_second"] / medians["bare"]["requests_per_second"],
            "ratio_by_round": bare_rounds,
            "ratio_to_direct": medians["intwa"]["requests_per_second"] / medians["direct"]["requests_per_second"],
            "ratio_to_direct_by_round": direct_rounds,
            "provider_calls_per_1000": results.provider_calls_per_1000[endpoint],
        }
    bind = None if results.bind is None else dataclasses.asdict(results.bind)
    if results.bind is not None and bind is not None:
        bind["overhead_p50_ms"] = results.bind.overhead_p50_ms
    return {
        "machine": results.machine,
        "settings": results.settings,
        "endpoints": endpoints,
        "bind": bind,
        "help_median_seconds": results.help_seconds,
    }


def markdown(results: Results) -> list[str]:
    data = summary(results)
    lines = [f"- {key}: {value}" for key, value in results.machine.items()]
    lines += [f"- settings: {results.settings}", "", *HEADER]
    for endpoint, numbers in data["endpoints"].items():
        intwa, bare, direct = numbers["intwa"], numbers["bare"], numbers["direct"]
        rounds = ", ".join(f"{ratio:.2f}" for ratio in numbers["ratio_by_round"])
        latencies = " · ".join(f"{m['p50_ms']:.2f} / {m['p99_ms']:.2f}" for m in (intwa, bare, direct))
        cpu = " · ".join(f"{m['server_cpu_us_per_request']:.1f}" for m in (intwa, bare, direct))
        lines.append(
            f"| {endpoint} | {intwa['requests_per_second']:,.0f} | {bare['requests_per_second']:,.0f} "
            f"| **{numbers['ratio']:.2f}** ({rounds}) | {direct['requests_per_second']:,.0f} "
            f"| {numbers['ratio_to_direct']:.2f} "
            f"| {latencies} | {cpu} "
            f"| {numbers['provider_calls_per_1000']:.3f} |"
        )
        failed = {target: numbers[target]["failed_requests"] for target in ("intwa", "bare", "direct")}
        if any(failed.values()):
            lines.append("  failed requests: " + ", ".join(f"{target} {n}" for target, n in failed.items()))
    if results.bind is not None:
        bind = results.bind
        lines += [
            "",
            f"bind ({bind.binds} binds): p50 {bind.bind_p50_ms:.2f} ms (p90 {bind.bind_p90_ms:.2f}); "
            f"the provider's own calls: p50 {bind.provider_p50_ms:.2f} ms (p90 {bind.provider_p90_ms:.2f}); "
            f"overhead at p50: {bind.overhead_p50_ms:.2f} ms",
        ]
    lines.append(f"intwa --help: median {results.help_seconds * 1000:.0f} ms over {results.help_runs} runs")
    lines.append("load average at the end (1, 5, 15 min): " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    if results.profile:
        lines += ["", "phoneInfo profile (py-spy):", *results.profile]
    return lines


def write_json(results: Results, path: Path) -> None:
    path.write_text(json.dumps(summary(results), indent=2), encoding="utf-8")
