"""One client, one concurrency, in a fresh process: `python -m bench._client …`.

Prints one JSON object: client CPU per operation (`time.process_time`, so the
server's process is not counted), operations per second, and for streams the
time to the first text chunk (p50/p90). Every client uses its library's
defaults, as its users would, and one long-lived client object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MODEL = "mistral-small-latest"
MESSAGES = [{"role": "user", "content": "Say something short."}]


@dataclass
class Client:
    unary: Callable[[int], Awaitable[str]]
    stream: Callable[[int], AsyncIterator[str]]
    close: Callable[[], Awaitable[None]]


async def _aiohttp(url: str) -> Client:
    import aiohttp

    session = aiohttp.ClientSession()
    body = {"model": MODEL, "messages": MESSAGES}

    async def unary(_: int) -> str:
        async with session.post(f"{url}/v1/chat/completions", json=body) as response:
            data = await response.json()
        return str(data["choices"][0]["message"]["content"])

    async def stream(_: int) -> AsyncIterator[str]:
        async with session.post(
            f"{url}/v1/chat/completions", json={**body, "stream": True}
        ) as response:
            async for line in response.content:
                if line.startswith(b"data: ") and line[6:].strip() != b"[DONE]":
                    delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta

    return Client(unary, stream, session.close)


async def _httpx(url: str) -> Client:
    import httpx

    # httpx's default 5 s pool timeout fails at concurrency 500 (its pool is the
    # bottleneck measured here); a longer one lets the run finish and be measured.
    client = httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(5.0, pool=120.0))
    body = {"model": MODEL, "messages": MESSAGES}

    async def unary(_: int) -> str:
        response = await client.post("/v1/chat/completions", json=body)
        return str(response.json()["choices"][0]["message"]["content"])

    async def stream(_: int) -> AsyncIterator[str]:
        async with client.stream(
            "POST", "/v1/chat/completions", json={**body, "stream": True}
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line[6:].strip() != "[DONE]":
                    delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta

    return Client(unary, stream, client.aclose)


async def _openai(url: str) -> Client:
    from openai import AsyncOpenAI

    # Any: typed when the bench group is installed, unknown when it is not.
    client: Any = AsyncOpenAI(base_url=f"{url}/v1", api_key="bench", max_retries=0)

    async def unary(_: int) -> str:
        reply = await client.chat.completions.create(model=MODEL, messages=MESSAGES)
        return reply.choices[0].message.content or ""

    async def stream(_: int) -> AsyncIterator[str]:
        chunks = await client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    return Client(unary, stream, client.close)


async def _litellm(url: str) -> Client:
    import litellm

    options: dict[str, Any] = {
        "model": f"openai/{MODEL}",
        "api_base": f"{url}/v1",
        "api_key": "bench",
    }

    async def unary(_: int) -> str:
        reply = await litellm.acompletion(messages=MESSAGES, **options)
        return str(reply.choices[0].message.content)

    async def stream(_: int) -> AsyncIterator[str]:
        chunks = await litellm.acompletion(messages=MESSAGES, stream=True, **options)
        async for chunk in chunks:
            if chunk.choices and chunk.choices[0].delta.content:
                yield chunk.choices[0].delta.content

    async def close() -> None:
        return None

    return Client(unary, stream, close)


async def _llmhub_provider(url: str) -> Client:
    from llmhub import ChatRequest, Message
    from llmhub_mistral import MistralProvider

    provider = MistralProvider({"MISTRAL_API_KEY": "bench", "MISTRAL_ENDPOINT": url})
    request = ChatRequest(MODEL, (Message("user", MESSAGES[0]["content"]),))

    async def unary(_: int) -> str:
        return (await provider.generate(request)).text

    async def stream(_: int) -> AsyncIterator[str]:
        async for chunk in provider.stream(request):
            if chunk.text:
                yield chunk.text

    return Client(unary, stream, provider.aclose)


async def _llmhub(url: str) -> Client:
    from llmhub import Hub

    folder = tempfile.mkdtemp(prefix="llmhub-bench-")
    hub = await Hub.open(
        {
            "LLMHUB_DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "MISTRAL_API_KEY": "bench",
            "MISTRAL_ENDPOINT": url,
        }
    )
    prompt = MESSAGES[0]["content"]

    async def unary(i: int) -> str:
        return await hub.generate_reply(f"chat-{i}", prompt, MODEL)

    async def stream(i: int) -> AsyncIterator[str]:
        async with hub.stream_reply(f"chat-{i}", prompt, MODEL) as pieces:
            async for piece in pieces:
                yield piece

    return Client(unary, stream, hub.aclose)


CLIENTS: dict[str, Callable[[str], Awaitable[Client]]] = {
    "llmhub": _llmhub,
    "llmhub-provider": _llmhub_provider,
    "aiohttp": _aiohttp,
    "httpx": _httpx,
    "openai": _openai,
    "litellm": _litellm,
}


async def _measure(client: Client, mode: str, concurrency: int, n: int) -> dict[str, float]:
    firsts: list[float] = []
    counter = iter(range(10**9))

    async def once() -> None:
        i = next(counter)
        if mode == "unary":
            text = await client.unary(i)
            assert text
            return
        started = time.perf_counter()
        seen = False
        async for piece in client.stream(i):
            if not seen and piece:
                firsts.append(time.perf_counter() - started)
                seen = True
        assert seen

    async def worker(count: int) -> None:
        for _ in range(count):
            await once()

    async def run(total: int) -> None:
        share, extra = divmod(total, concurrency)
        await asyncio.gather(*(worker(share + (1 if w < extra else 0)) for w in range(concurrency)))

    await run(max(concurrency, min(n // 5, 500)))  # warm up: connections, caches, imports
    firsts.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    await run(n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result = {"cpu_ms": cpu / n * 1000, "per_s": n / wall}
    if firsts:
        result["first_p50_ms"] = sorted(firsts)[len(firsts) // 2] * 1000
        result["first_p90_ms"] = sorted(firsts)[int(len(firsts) * 0.9)] * 1000
    return result


async def _main(args: argparse.Namespace) -> dict[str, float]:
    client = await CLIENTS[args.client](args.url)
    try:
        return await _measure(client, args.mode, args.concurrency, args.n)
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", choices=sorted(CLIENTS), required=True)
    parser.add_argument("--mode", choices=["unary", "stream"], default="unary")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(_main(args))))


if __name__ == "__main__":
    main()
