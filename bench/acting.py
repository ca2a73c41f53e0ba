"""Apps that act: a tool round trip and a structured call through llmhub, LiteLLM and
pydantic-ai, and llmhub's sync API against its async one — client CPU per call,
each client in a fresh process, against one loopback server, in the same run.

llmhub's figures include what the others do not do: every exchange (and the tool
round) written to its SQLite log.
"""

from __future__ import annotations

from ._common import median, run_json, server, table

CALLS = 200
PEERS = ["llmhub", "litellm", "pydantic-ai"]
#: The sync comparison is of two near figures: runs alternate, medians are kept.
ROUNDS = 5


def _row(name: str, result: dict[str, float] | str, base: dict[str, float] | str) -> list[object]:
    if isinstance(result, str):
        return [name, f"failed: {result}", "", ""]
    ratio = result["cpu_ms"] / base["cpu_ms"] if isinstance(base, dict) else float("nan")
    return [name, result["cpu_ms"], result["wall_ms"], f"{ratio:.2f}x"]


def _median(results: list[dict[str, float] | str]) -> dict[str, float] | str:
    good = [r for r in results if isinstance(r, dict)]
    if not good:
        return next(r for r in results if isinstance(r, str))
    return {key: median([r[key] for r in good]) for key in good[0]}


def run() -> str:
    header = ["client", "CPU ms / call", "wall ms / call", "CPU vs llmhub"]
    sections = []
    with server() as url:
        for kind, title in [
            ("tools", "Tool round trip (the model calls a tool, it runs, the model answers)"),
            ("structured", "Structured call (a reply parsed into a pydantic model)"),
        ]:
            results = {
                peer: run_json("bench._acting_client", peer, kind, url, str(CALLS))
                for peer in PEERS
            }
            rows = [_row(peer, results[peer], results["llmhub"]) for peer in PEERS]
            sections.append(table(f"{title}, {CALLS} calls one after another", header, rows))
        runs: dict[str, list[dict[str, float] | str]] = {"llmhub": [], "llmhub-sync": []}
        for _ in range(ROUNDS):
            for client, found in runs.items():
                found.append(run_json("bench._acting_client", client, "call", url, str(CALLS)))
        calls = {
            "llmhub (async, one loop)": _median(runs["llmhub"]),
            "llmhub.sync": _median(runs["llmhub-sync"]),
            "asyncio.run() per call": run_json(
                "bench._acting_client", "asyncio.run", "call", url, "40"
            ),
        }
    base = calls["llmhub (async, one loop)"]
    rows = [_row(name, result, base) for name, result in calls.items()]
    header = ["llmhub call from", "CPU ms / call", "wall ms / call", "CPU vs async"]
    title = f"Sync against async: the same whole reply, medians of {ROUNDS} alternating runs"
    sections.append(table(title + " (goal: sync at most 1.3x)", header, rows))
    return "\n".join(sections)


if __name__ == "__main__":
    print(run())
