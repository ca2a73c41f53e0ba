"""An in-process provider whose answers a test scripts, a plugin offering it,
and a hub over both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any, ClassVar

from .._catalogue import InputKind, ModelTable, Price, model_entry
from .._hookspecs import hookimpl
from .._hub import Hub
from .._provider import BaseProvider, EnvVar
from .._registry import ProviderRegistry
from .._settings import HubSettings
from .._types import ChatRequest, Reply, StreamChunk, Usage
from ..store import store_from_url

__all__ = ["ScriptedProvider", "plugin_offering", "scripted_hub"]

_READS: tuple[InputKind, ...] = ("text", "image")


class ScriptedProvider(BaseProvider):
    """Answers "echo: <last prompt>" unless a test sets `reply`, `error` or `chunks`."""

    name = "fake"
    supports_files = True
    max_file_bytes = 1024
    accepted_mime_prefixes = ("image/",)
    env_vars = (EnvVar("FAKE_API_KEY", "key", required=False, secret=True),)
    model_prefixes: ClassVar[tuple[str, ...]] = ("fake-",)
    models: ClassVar[list[str]] = ["fake-small", "fake-large"]
    catalogue = ModelTable(
        models=(
            model_entry(
                "fake-small", context=8_192, output=1_024, inputs=_READS, price=Price(1.0, 2.0)
            ),
            model_entry(
                "fake-large",
                context=65_536,
                output=8_192,
                inputs=_READS,
                reasoning=True,
                price=Price(10.0, 20.0, cached_input=1.0),
            ),
        ),
        families=(model_entry("fake-", context=8_192, output=1_024, inputs=_READS),),
        sources=("made up for tests (2026-11-29)",),
    )

    def __init__(self, env: object = None, **options: Any) -> None:
        super().__init__({}, **options)
        self.requests: list[ChatRequest] = []
        self.reply: Callable[[ChatRequest], str] | None = None
        self.error: BaseException | None = None
        self.chunks: list[str] | None = None
        self.fail_after_chunks: BaseException | None = None
        self.gate: asyncio.Event | None = None
        #: Set when a call stops at `gate`.
        self.at_gate = asyncio.Event()

    async def list_models(self) -> list[str]:
        return list(self.models)

    def _text(self, request: ChatRequest) -> str:
        if self.reply is not None:
            return self.reply(request)
        return f"echo: {request.messages[-1].content}"

    async def generate(self, request: ChatRequest) -> Reply:
        self.requests.append(request)
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        usage = Usage(prompt_tokens=3, completion_tokens=2, total_tokens=5)
        return Reply(self._text(request), request.model, self.name, "stop", usage)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        pieces = self.chunks if self.chunks is not None else self._text(request).split(" ")
        for i, piece in enumerate(pieces):
            yield StreamChunk(text=piece if i == 0 else " " + piece)
            if self.gate is not None:
                await self.gate.wait()
        if self.fail_after_chunks is not None:
            raise self.fail_after_chunks
        yield StreamChunk(finish_reason="stop", usage=Usage(1, 2, 3))


def plugin_offering(*classes: type[BaseProvider]) -> SimpleNamespace:
    """A hook implementation object, as a plugin module would be."""

    @hookimpl
    def llmhub_providers() -> list[type[BaseProvider]]:
        return list(classes)

    return SimpleNamespace(llmhub_providers=llmhub_providers, __name__="fake_plugin")


@asynccontextmanager
async def scripted_hub(
    database_url: str = "sqlite:///:memory:", **settings: Any
) -> AsyncIterator[tuple[Hub, ScriptedProvider]]:
    """A hub over a `ScriptedProvider` (default model `fake-small`) and a store, closed after.

    async with scripted_hub() as (hub, provider):
        provider.reply = lambda request: "hi"
        assert await hub.generate_reply(1, "hello") == "hi"
    """
    config = HubSettings(
        **{"default_model": "fake-small", "database_url": database_url, **settings}
    )
    registry = ProviderRegistry({}, plugins=[plugin_offering(ScriptedProvider)], settings=config)
    provider = registry.get("fake")
    assert isinstance(provider, ScriptedProvider)
    store = store_from_url(config.database_url)
    await store.open()
    hub = Hub(registry, store, config)
    try:
        yield hub, provider
    finally:
        await hub.aclose()
