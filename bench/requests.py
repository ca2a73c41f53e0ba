"""2. Non-streamed requests: client CPU per request and requests per second at
concurrency 10, 50 and 500, through `generate_reply` (logging on) and through
the bare provider (no logging), beside the peers, median of interleaved rounds."""

from __future__ import annotations

from ._common import median, run_json, server, table

CLIENTS = ["llmhub", "llmhub-provider", "aiohttp", "httpx", "openai", "litellm"]
CONCURRENCY = [10, 50, 500]
ROUNDS = 3


def measure(
    mode: str, concurrency: list[int], n_for: dict[int, int], interval: float = 0.0
) -> dict[tuple[str, int], dict[str, float]]:
    runs: dict[tuple[str, int], list[dict[str, float]]] = {}
    with server(interval) as url:
        for _ in range(ROUNDS):  # interleaved, so drift of the machine hits every client alike
            for c in concurrency:
                for client in CLIENTS:
                    result = run_json(
                        "bench._client",
                        "--client",
                        client,
                        "--mode",
                        mode,
                        "--concurrency",
                        str(c),
                        "-n",
                        str(n_for[c]),
                        "--url",
                        url,
                    )
                    runs.setdefault((client, c), []).append(result)
    return {key: {k: median([r[k] for r in rs]) for k in rs[0]} for key, rs in runs.items()}


def run() -> str:
    results = measure("unary", CONCURRENCY, {10: 2000, 50: 3000, 500: 5000})
    rows = []
    for c in CONCURRENCY:
        raw = results[("aiohttp", c)]["cpu_ms"]
        for client in CLIENTS:
            r = results[(client, c)]
            rows.append((c, client, r["cpu_ms"], r["per_s"], f"{r['cpu_ms'] / raw:.2f}x"))
    growth = results[("llmhub", 500)]["cpu_ms"] / results[("llmhub", 10)]["cpu_ms"]
    return (
        table(
            "Non-streamed requests: client CPU per request",
            ["concurrency", "client", "CPU ms / request", "requests / s", "CPU / raw aiohttp"],
            rows,
        )
        + f"\nllmhub's CPU per request at concurrency 500 / at 10: {growth:.2f}x\n"
    )


if __name__ == "__main__":
    print(run())
