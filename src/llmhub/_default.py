"""The module-level calls, on one default hub per event loop.

The hub is built from the environment on first use. It is kept per event
loop because its store's futures belong to the loop that made them; an app
that runs `asyncio.run()` twice gets a fresh hub the second time.

It is closed when its loop ends, with no call needed: an async generator
started on the loop is finalized by `loop.shutdown_asyncgens()`, which
`asyncio.run()` (and every test runner's loop) calls before closing the loop;
its `finally` closes the hub, writing what its store still has queued.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Unpack, overload

from ._hub import CallOptions, Hub
from ._stream import ReplyStream
from ._types import ChatId, Embeddings, Prompt

__all__ = ["close_default_hub", "embed", "generate_reply", "get_default_hub", "stream_reply"]

T = TypeVar("T")


@dataclass
class _Default:
    opening: asyncio.Task[Hub]
    closer: AsyncGenerator[None, None]  # held here: the loop holds its async generators weakly


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Default] = weakref.WeakKeyDictionary()


async def get_default_hub() -> Hub:
    """The hub of the running event loop, opened from the environment on first use."""
    loop = asyncio.get_running_loop()
    default = _hubs.get(loop)
    if default is None or _failed(default.opening):
        opening = loop.create_task(Hub._open())
        closer = _closed_with_the_loop(opening)
        await closer.asend(None)  # started: the loop now finalizes it at its end
        default = _hubs[loop] = _Default(opening, closer)
    return await asyncio.shield(default.opening)


async def close_default_hub() -> None:
    """Close the running loop's default hub now; the next call opens a new one."""
    default = _hubs.pop(asyncio.get_running_loop(), None)
    if default is not None:
        await default.closer.aclose()


async def _closed_with_the_loop(opening: asyncio.Task[Hub]) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        if not opening.done():
            opening.cancel()
        elif not _failed(opening):
            await opening.result().aclose()


def _failed(task: asyncio.Task[Hub]) -> bool:
    """Whether opening the hub ended without a hub (an error, or cancelled)."""
    return task.done() and (task.cancelled() or task.exception() is not None)


@overload
async def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: None = None,
    **options: Unpack[CallOptions],
) -> str: ...


@overload
async def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: type[T],
    **options: Unpack[CallOptions],
) -> T: ...


@overload
async def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Mapping[str, Any],
    **options: Unpack[CallOptions],
) -> Any: ...


async def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Any = None,
    **options: Unpack[CallOptions],
) -> Any:
    """Ask `model` with the chat's earlier turns as context, log both rows, return the
    text (with `output=`, the parsed structured reply).

        from llmhub import generate_reply
        text = await generate_reply(chat_id=42, prompt="Hi!", model="mistral-small-latest")

    Every keyword of `Prompt` is taken: `tools=[fn, ...]`, `output=Model`,
    `context=False`, `history=[...]`, `options=GenerationOptions(...)`, ...
    Raises an `LLMHubError` subclass on any failure (see `llmhub.LLMHubError`).
    """
    request = Prompt.of(chat_id, prompt, model, output=output, **options)
    hub = await get_default_hub()
    reply = await hub.reply(request)
    return reply.parsed if output is not None else reply.text


def stream_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    output: Any = None,
    **options: Unpack[CallOptions],
) -> ReplyStream:
    """The streaming twin of `generate_reply`: `async for piece in stream_reply(...)`."""
    request = Prompt.of(chat_id, prompt, model, output=output, **options)

    async def open_stream() -> ReplyStream:
        return (await get_default_hub()).stream_reply(request)

    return ReplyStream.deferred(open_stream)


async def embed(texts: Sequence[str], model: str, *, user_id: int | None = None) -> Embeddings:
    """One vector per text, from an embedding model, on the default hub (see `Hub.embed`)."""
    return await (await get_default_hub()).embed(texts, model, user_id=user_id)
