"""3. Streaming 20 chunks: client CPU per stream, and the time to the first
chunk (p50/p90) at concurrency 1 and 20. The server paces its chunks 5 ms
apart, as a model does, so first-chunk time shows client overhead rather
than a client saturated by chunks arriving all at once."""

from __future__ import annotations

from ._common import table
from .requests import measure, rows_by_client

CONCURRENCY = [1, 20]


def run() -> str:
    results = measure("stream", CONCURRENCY, {1: 300, 20: 1000}, interval=0.005)
    rows = rows_by_client(
        results,
        CONCURRENCY,
        lambda r, ratio: (r["cpu_ms"], ratio, r["first_p50_ms"], r["first_p90_ms"]),
    )
    return table(
        "Streaming 20 chunks (5 ms apart): client CPU per stream, first chunk",
        [
            "concurrency",
            "client",
            "CPU ms / stream",
            "CPU / raw aiohttp",
            "first chunk p50 ms",
            "p90 ms",
        ],
        rows,
    )


if __name__ == "__main__":
    print(run())
