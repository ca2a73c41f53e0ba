"""The module-level calls, on one default hub per event loop.

The hub is built from the environment on first use. It is kept per event
loop because its store's futures belong to the loop that made them; an app
that runs `asyncio.run()` twice gets a fresh hub the second time.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from ._hub import Hub
from ._stream import ReplyStream
from ._types import Attachment, ChatId, GenerationOptions, Prompt

__all__ = ["close_default_hub", "generate_reply", "get_default_hub", "stream_reply"]

_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Hub]] = (
    weakref.WeakKeyDictionary()
)


async def get_default_hub() -> Hub:
    """The hub of the running event loop, opened from the environment on first use."""
    loop = asyncio.get_running_loop()
    task = _hubs.get(loop)
    if task is None or _failed(task):
        task = loop.create_task(Hub.open())
        _hubs[loop] = task
    return await asyncio.shield(task)


async def close_default_hub() -> None:
    """Close the running loop's default hub; the next call opens a new one."""
    task = _hubs.pop(asyncio.get_running_loop(), None)
    if task is not None and not _failed(task):
        await (await task).aclose()


def _failed(task: asyncio.Task[Hub]) -> bool:
    """Whether opening the hub ended without a hub (an error, or cancelled)."""
    return task.done() and (task.cancelled() or task.exception() is not None)


async def generate_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    user_id: int | None = None,
    system: str | None = None,
    attachments: Sequence[Attachment] = (),
    options: GenerationOptions | None = None,
) -> str:
    """Ask `model` with the chat's earlier turns as context, log both rows, return the text.

        from llmhub import generate_reply
        text = await generate_reply(chat_id=42, prompt="Hi!", model="mistral-small-latest")

    Raises an `LLMHubError` subclass on any failure (see `llmhub.LLMHubError`).
    """
    request = Prompt(chat_id, prompt, model, user_id, system, tuple(attachments), options)
    hub = await get_default_hub()
    return (await hub.ask(request)).text


def stream_reply(
    chat_id: ChatId,
    prompt: str,
    model: str | None = None,
    *,
    user_id: int | None = None,
    system: str | None = None,
    attachments: Sequence[Attachment] = (),
    options: GenerationOptions | None = None,
) -> ReplyStream:
    """The streaming twin of `generate_reply`: `async for piece in stream_reply(...)`."""
    request = Prompt(chat_id, prompt, model, user_id, system, tuple(attachments), options)

    async def open_stream() -> ReplyStream:
        return (await get_default_hub()).stream(request)

    return ReplyStream.deferred(open_stream)
