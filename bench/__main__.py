"""Run every benchmark: `python3 dev.py bench` (or `python -m bench [names…]`).

Prints the tables and writes them to bench/.results/latest.md.
"""

from __future__ import annotations

import importlib
import sys
import time

from ._common import RESULTS, machine

ALL = [
    "imports",
    "requests",
    "streaming",
    "acting",
    "tracing",
    "store",
    "store_postgres",
    "bot",
    "bot_replicas",
]


def main(names: list[str]) -> int:
    chosen = names or ALL
    unknown = set(chosen) - set(ALL)
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(ALL)}")
        return 2
    parts = [f"Machine: {machine()}\n"]
    print(parts[0], flush=True)
    for name in chosen:
        started = time.perf_counter()
        section = importlib.import_module(f"bench.{name}").run()
        print(section, f"({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)
        parts.append(section)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"written to {RESULTS / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
