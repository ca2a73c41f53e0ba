"""2. Non-streamed requests: client CPU per request and requests per second at
concurrency 10, 50 and 500, through `generate_reply` (logging on) and through
the bare provider (no logging), beside the peers, median of interleaved rounds."""

from __future__ import annotations

from collections.abc import Callable

from ._common import median, run_json, server, table

CLIENTS = ["llmhub", "llmhub-provider", "aiohttp", "httpx", "openai", "litellm"]
CONCURRENCY = [10, 50, 500]
ROUNDS = 3
Results = dict[tuple[str, int], dict[str, float] | str]


def measure(
    mode: str, concurrency: list[int], n_for: dict[int, int], interval: float = 0.0
) -> Results:
    """Medians per (client, concurrency); a client that failed in any round maps to its error."""
    runs: dict[tuple[str, int], list[dict[str, float] | str]] = {}
    with server(interval) as url:
        for _ in range(ROUNDS):  # interleaved, so drift of the machine hits every client alike
            for c in concurrency:
                for client in CLIENTS:
                    args = ["--client", client, "--mode", mode, "--concurrency", str(c)]
                    args += ["-n", str(n_for[c]), "--url", url]
                    runs.setdefault((client, c), []).append(run_json("bench._client", *args))
    results: Results = {}
    for key, rounds in runs.items():
        failed = [r for r in rounds if isinstance(r, str)]
        ok = [r for r in rounds if not isinstance(r, str)]
        results[key] = failed[0] if failed else {k: median([r[k] for r in ok]) for k in ok[0]}
    return results


def rows_by_client(
    results: Results,
    concurrency: list[int],
    columns: Callable[[dict[str, float], str], tuple[object, ...]],
) -> list[tuple[object, ...]]:
    """A table row per (concurrency, client): `columns(result, ratio to raw aiohttp)`,
    or the client's error where it failed."""
    rows: list[tuple[object, ...]] = []
    for c in concurrency:
        raw = results[("aiohttp", c)]
        for client in CLIENTS:
            r = results[(client, c)]
            if isinstance(r, str):
                rows.append((c, client, f"failed: {r}"))
                continue
            ratio = f"{r['cpu_ms'] / raw['cpu_ms']:.2f}x" if not isinstance(raw, str) else "-"
            rows.append((c, client, *columns(r, ratio)))
    return rows


def run() -> str:
    results = measure("unary", CONCURRENCY, {10: 2000, 50: 3000, 500: 5000})
    rows = rows_by_client(results, CONCURRENCY, lambda r, ratio: (r["cpu_ms"], r["per_s"], ratio))
    high, low = results[("llmhub", 500)], results[("llmhub", 10)]
    growth = (
        high["cpu_ms"] / low["cpu_ms"]
        if not isinstance(high, str) and not isinstance(low, str)
        else 0.0
    )
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
