"""What every benchmark shares: the server process, subprocess runs, tables."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / ".results"
ENV = {
    **os.environ,
    # litellm fetches a price map from the network on import unless told not to.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "PYTHONPATH": str(ROOT),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(interval: float = 0.0) -> Iterator[str]:
    """The loopback server in its own process; yields its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "bench._server",
        "--port",
        str(port),
        "--interval",
        str(interval),
    ]
    process = subprocess.Popen(command, env=ENV, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("the benchmark server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def run_json(module: str, *args: str) -> dict[str, float] | str:
    """Run `python -m module args…` in a fresh process; it prints one JSON object last.

    A run that fails returns its last error line instead, so one failing peer is
    reported in the table and does not stop the others.
    """
    command = [sys.executable, "-m", module, *args]
    out = subprocess.run(command, env=ENV, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        errors = [line for line in lines if "Error" in line or "Timeout" in line]
        return (errors or lines or ["failed"])[-1][:80]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def machine() -> str:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "-"

    packages = [
        "aiollmhub",
        "httpx",
        "httpx-aiohttp",
        "aiohttp",
        "openai",
        "litellm",
        "llm",
        "aiosqlite",
        "aiogram",
    ]
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}; {versions}"
    )


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (printed, and kept for the README)."""
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if value < 100 else f"{value:,.0f}"
    return str(value)
