"""1. Cold import (+ discovery for llmhub): wall time and peak RSS of a whole
fresh process, median of 7, each in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ._common import ENV, ROOT, median, table

CASES = {
    "python (nothing)": "pass",
    "llmhub + discovery": "import llmhub; llmhub.ProviderRegistry().names()",
    "httpx": "import httpx",
    "aiohttp": "import aiohttp",
    "openai": "import openai",
    "litellm": "import litellm",
    "llm": "import llm",
    "google aiplatform_v1": "from google.cloud import aiplatform_v1",
    "aiogram": "import aiogram",
}
RUNS = 7


def _once(code: str) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], env=ENV, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{code!r} failed")
    return wall * 1000, usage.ru_maxrss / 1024  # ms, MiB


def _heavy_after_discovery() -> list[str]:
    code = (
        "import sys, llmhub; llmhub.ProviderRegistry().names();"
        "print(' '.join(m for m in sys.modules if m.startswith(('aiogram', 'google.cloud.aiplatform', 'grpc'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=ENV, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def run() -> str:
    results: dict[str, tuple[float, float]] = {}
    for name, code in CASES.items():
        _once(code)  # warm the file cache and the .pyc files
        runs = [_once(code) for _ in range(RUNS)]
        results[name] = (median([r[0] for r in runs]), median([r[1] for r in runs]))
    base_wall, base_rss = results["httpx"]
    rows = [
        (name, wall, rss, f"{wall / base_wall:.2f}x", f"{rss / base_rss:.2f}x")
        for name, (wall, rss) in results.items()
    ]
    heavy = _heavy_after_discovery()
    note = (
        "Nothing of aiogram, google or grpc is loaded by discovery."
        if not heavy
        else f"LOADED: {heavy}"
    )
    return (
        table(
            "Cold import (whole process, median of 7)",
            ["what", "wall ms", "peak RSS MiB", "wall / httpx", "RSS / httpx"],
            rows,
        )
        + f"\n{note}\n"
    )


if __name__ == "__main__":
    print(run())
