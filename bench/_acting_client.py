"""One client doing one kind of call N times, in a fresh process:
`python -m bench._acting_client CLIENT KIND URL N`.

Kinds: `tools` (a round trip: the model calls a tool, the tool runs, the model
answers: two requests), `structured` (a reply parsed into a pydantic model),
`call` (a plain whole reply). Prints one JSON object: client CPU per call
(`time.process_time`: the server's process is not counted) and wall time per
call, both in ms, over N calls one after another after a warm-up.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

MODEL = "mistral-small-latest"
PROMPT = "What is the weather in Paris?"
WARMUP = 5


class City(BaseModel):
    city: str
    country: str
    population: int


def weather(city: str) -> str:
    """The weather now in a city."""
    return f"{city}: sunny, 21 C"


WEATHER_SCHEMA = {
    "type": "function",
    "function": {
        "name": "weather",
        "description": "The weather now in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def _env(url: str) -> dict[str, str]:
    folder = tempfile.mkdtemp(prefix="llmhub-bench-")
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "MISTRAL_API_KEY": "bench",
        "MISTRAL_ENDPOINT": url,
    }


Op = Callable[[int], Awaitable[Any]]


async def _llmhub(url: str, kind: str) -> tuple[Op, Callable[[], Awaitable[None]]]:
    from llmhub import Hub

    hub = await Hub.open(_env(url))

    async def op(i: int) -> Any:
        if kind == "tools":
            return (await hub.reply(f"c{i}", PROMPT, MODEL, tools=[weather], context=False)).text
        if kind == "structured":
            return await hub.generate_reply(f"c{i}", PROMPT, MODEL, output=City, context=False)
        return await hub.generate_reply(f"c{i}", PROMPT, MODEL, context=False)

    return op, hub.aclose


async def _litellm(url: str, kind: str) -> tuple[Op, Callable[[], Awaitable[None]]]:
    import litellm

    options: dict[str, Any] = {
        "model": f"openai/{MODEL}",
        "api_base": f"{url}/v1",
        "api_key": "bench",
    }
    messages: list[dict[str, Any]] = [{"role": "user", "content": PROMPT}]

    async def op(_: int) -> Any:
        if kind == "tools":  # the loop an app writes itself around LiteLLM
            first = await litellm.acompletion(messages=messages, tools=[WEATHER_SCHEMA], **options)
            asked = first.choices[0].message
            turns = [*messages, asked.model_dump()]
            for call in asked.tool_calls or []:
                output = weather(**json.loads(call.function.arguments))
                turns.append({"role": "tool", "tool_call_id": call.id, "content": output})
            second = await litellm.acompletion(messages=turns, tools=[WEATHER_SCHEMA], **options)
            return second.choices[0].message.content
        if kind == "structured":
            reply = await litellm.acompletion(messages=messages, response_format=City, **options)
            return City.model_validate_json(reply.choices[0].message.content)
        return (await litellm.acompletion(messages=messages, **options)).choices[0].message.content

    async def close() -> None:
        return None

    return op, close


async def _pydantic_ai(url: str, kind: str) -> tuple[Op, Callable[[], Awaitable[None]]]:
    from pydantic_ai import Agent, NativeOutput
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    model = OpenAIChatModel(MODEL, provider=OpenAIProvider(base_url=f"{url}/v1", api_key="bench"))
    agent: Any
    if kind == "tools":
        agent = Agent(model, tools=[weather])
    elif kind == "structured":
        agent = Agent(model, output_type=NativeOutput(City))
    else:
        agent = Agent(model)

    async def op(_: int) -> Any:
        return (await agent.run(PROMPT)).output

    async def close() -> None:
        return None

    return op, close


CLIENTS = {"llmhub": _llmhub, "litellm": _litellm, "pydantic-ai": _pydantic_ai}


async def _measure_async(client: str, kind: str, url: str, count: int) -> dict[str, float]:
    op, close = await CLIENTS[client](url, kind)
    try:
        for i in range(WARMUP):
            await op(-i - 1)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            await op(i)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return {"cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000}


def _measure_sync(url: str, count: int) -> dict[str, float]:
    """llmhub.sync: the same plain call from code that has no event loop."""
    import llmhub.sync

    with llmhub.sync.Hub.open(_env(url)) as hub:
        for i in range(WARMUP):
            hub.generate_reply(f"w{i}", PROMPT, MODEL, context=False)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            hub.generate_reply(f"c{i}", PROMPT, MODEL, context=False)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000}


def _measure_asyncio_run(url: str, count: int) -> dict[str, float]:
    """What sync code paid before `llmhub.sync`: `asyncio.run()` around each call."""
    import os

    import llmhub

    os.environ.update(_env(url))
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        asyncio.run(llmhub.generate_reply(f"c{i}", PROMPT, MODEL, context=False))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {"cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000}


def main() -> None:
    client, kind, url, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    if client == "llmhub-sync":
        result = _measure_sync(url, count)
    elif client == "asyncio.run":
        result = _measure_asyncio_run(url, count)
    else:
        result = asyncio.run(_measure_async(client, kind, url, count))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
