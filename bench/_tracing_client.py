"""One process of `bench.tracing`: CPU per `Hub.reply` on an in-process provider,
with OpenTelemetry absent, installed but off (no tracer provider), or on (the SDK)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time


async def _measure(n: int) -> dict[str, float]:
    from llmhub.testing import scripted_hub

    folder = tempfile.mkdtemp(prefix="llmhub-bench-tracing-")
    async with scripted_hub(f"sqlite:///{folder}/t.db") as (hub, _provider):
        for i in range(500):  # warm up
            await hub.reply(f"w{i}", "hello")
        cpu = time.process_time()
        for i in range(n):
            await hub.reply(f"c{i}", "hello")
        cpu = time.process_time() - cpu
    return {"cpu_us": cpu / n * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["absent", "off", "on"], required=True)
    parser.add_argument("-n", type=int, default=5000)
    args = parser.parse_args()
    if args.mode == "absent":
        # A None entry makes `import opentelemetry` fail, as if it were not installed.
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    elif args.mode == "on":
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
        trace.set_tracer_provider(provider)
    print(json.dumps(asyncio.run(_measure(args.n))))


if __name__ == "__main__":
    main()
