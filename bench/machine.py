"""What a benchmark ran on: the machine, the software, and the code's commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("litestar", "uvicorn", "msgspec", "httptools", "uvloop", "httpx", "aiosqlite")


def _first(path: str, prefix: str) -> str:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return "unknown"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(prefix)), "unknown")


def _git(*args: str) -> str:
    completed = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    return completed.stdout.strip()


def describe(wrk_version: str, data_folder: Path) -> dict[str, str]:
    """The facts that make two runs comparable, as `name: value`."""
    memory_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    changed = [line for line in _git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    untracked = [line for line in _git("status", "--porcelain").splitlines() if line.startswith("??")]
    filesystem = subprocess.run(
        ["df", "--output=fstype", str(data_folder)], capture_output=True, text=True, check=False
    ).stdout.split()
    return {
        "cores (nproc)": str(os.cpu_count()),
        "CPU": _first("/proc/cpuinfo", "model name"),
        "memory": f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else memory_kib,
        "kernel": platform.release(),
        "Python": platform.python_version(),
        "packages": ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES),
        "load generator": wrk_version,
        "SQLite folder filesystem": filesystem[-1] if filesystem else "unknown",
        "load average at start (1, 5, 15 min)": ", ".join(f"{load:.2f}" for load in os.getloadavg()),
        "commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        "uncommitted changes": f"{len(changed)} tracked files changed, {len(untracked)} untracked paths",
    }
