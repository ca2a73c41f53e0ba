"""The hub: a registry and a store, and the calls that log every exchange."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ._exceptions import (
    ConfigurationError,
    EmptyPromptError,
    LLMHubError,
    PromptTooLongError,
    ProviderUnavailableError,
    UnsupportedInputError,
)
from ._provider import BaseProvider
from ._registry import ModelCatalog, ProviderRegistry
from ._stream import ReplyStream, StreamState
from ._types import (
    Attachment,
    ChatId,
    ChatRequest,
    GenerationOptions,
    Message,
    Prompt,
    Reply,
    StreamChunk,
    Usage,
)
from .store import ContextInfo, RequestRecord, ResponseRecord, ResponseStatus, Store

if TYPE_CHECKING:
    from ._settings import HubSettings

__all__ = ["Hub"]

log = logging.getLogger("llmhub")


@dataclass(frozen=True, slots=True)
class _Prepared:
    provider: BaseProvider
    request: ChatRequest
    record: RequestRecord


class Hub:
    """A registry of providers and a store, with the calls apps make.

    Build one with `await Hub.open()` (settings from the environment and
    `.env`), or from parts for tests and embedding. Close it with `aclose()`,
    or use it as `async with await Hub.open() as hub:`.
    """

    def __init__(self, registry: ProviderRegistry, store: Store, settings: HubSettings) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self._first_available: str | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        registry: ProviderRegistry | None = None,
        store: Store | None = None,
    ) -> Hub:
        """A hub built from `env` (default: the environment over `.env`), store opened."""
        from ._settings import HubSettings, load_environment, read_settings
        from .store import store_from_url

        environment = load_environment() if env is None else dict(env)
        try:
            settings = read_settings(HubSettings, environment)
        except ValueError as exc:  # pydantic's ValidationError names the field and value
            raise ConfigurationError(f"invalid LLMHUB_* setting: {exc}") from exc
        if registry is None:
            registry = ProviderRegistry(environment, settings=settings)
        if store is None:
            store = store_from_url(settings.database_url, synchronous=settings.sqlite_synchronous)
        await store.open()
        return cls(registry, store, settings)

    async def aclose(self) -> None:
        """Close the providers' clients and the store (after writing what is queued)."""
        self._closed = True
        try:
            await self.registry.aclose()
        finally:
            await self.store.close()

    async def __aenter__(self) -> Hub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the calls ---------------------------------------------------------------------

    async def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        user_id: int | None = None,
        system: str | None = None,
        attachments: Sequence[Attachment] = (),
        options: GenerationOptions | None = None,
    ) -> str:
        """The reply's text. See `ask()`."""
        request = Prompt(chat_id, prompt, model, user_id, system, tuple(attachments), options)
        return (await self.ask(request)).text

    async def reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        user_id: int | None = None,
        system: str | None = None,
        attachments: Sequence[Attachment] = (),
        options: GenerationOptions | None = None,
    ) -> Reply:
        """The whole `Reply` (usage, finish reason, reasoning). See `ask()`."""
        return await self.ask(
            Prompt(chat_id, prompt, model, user_id, system, tuple(attachments), options)
        )

    def stream_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        user_id: int | None = None,
        system: str | None = None,
        attachments: Sequence[Attachment] = (),
        options: GenerationOptions | None = None,
    ) -> ReplyStream:
        """The streaming twin of `reply()`. See `stream()`."""
        return self.stream(
            Prompt(chat_id, prompt, model, user_id, system, tuple(attachments), options)
        )

    async def ask(self, prompt: Prompt) -> Reply:
        """Ask `prompt.model` (default: the chat's, then the configured one) with the
        chat's earlier turns as context; log the request before and the response after.

        Invalid input raises an `InvalidRequestError` and sends nothing. A provider
        failure is logged with its error and raised as an `LLMHubError` whose
        `request_id` names the logged row.
        """
        prepared = await self._prepare(prompt)
        started = time.perf_counter()
        try:
            reply = await prepared.provider.generate(prepared.request)
        except asyncio.CancelledError:
            await self._log_failure(prepared, started, "", "cancelled", None)
            raise
        except Exception as exc:
            error = _as_hub_error(exc, prepared)
            await self._log_failure(prepared, started, "", "error", error)
            if error is exc:
                raise
            raise error from exc
        reply = replace(
            reply, cost=prepared.provider.model_info(prepared.request.model).cost(reply.usage)
        )
        await self._log_success(
            prepared, started, reply.text, reply.finish_reason, reply.usage, reply.cost
        )
        return reply

    def stream(self, prompt: Prompt) -> ReplyStream:
        """The streaming twin of `ask()`: iterate it for text pieces as they arrive.

        The whole reply is logged at the end; if the stream breaks or the consumer
        stops early (`break`, `aclose()`, cancellation), what arrived is logged
        with status `error` or `cancelled`. After the end, `.reply` holds the
        `Reply` (usage, finish reason, reasoning) and `.request_id` the row.
        """
        state = StreamState()
        return ReplyStream(self._stream_events(state, prompt), state)

    async def _stream_events(self, state: StreamState, prompt: Prompt) -> AsyncGenerator[str, None]:
        prepared = await self._prepare(prompt)
        state.request_id = prepared.record.id
        started = time.perf_counter()
        parts: list[str] = []
        thoughts: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        try:
            async with _closing(prepared.provider.stream(prepared.request)) as chunks:
                async for chunk in chunks:
                    if chunk.reasoning:
                        thoughts.append(chunk.reasoning)
                    if chunk.usage is not None:
                        usage = chunk.usage
                    if chunk.finish_reason:
                        finish = chunk.finish_reason
                    if chunk.text:
                        parts.append(chunk.text)
                        yield chunk.text
        except (GeneratorExit, asyncio.CancelledError):
            await self._log_failure(prepared, started, "".join(parts), "cancelled", None)
            raise
        except Exception as exc:
            error = _as_hub_error(exc, prepared)
            await self._log_failure(prepared, started, "".join(parts), "error", error)
            if error is exc:
                raise
            raise error from exc
        text = "".join(parts)
        usage = usage or Usage()
        cost = prepared.provider.model_info(prepared.request.model).cost(usage)
        await self._log_success(prepared, started, text, finish, usage, cost)
        state.reply = Reply(
            text=text,
            model=prepared.request.model,
            provider=prepared.provider.name,
            finish_reason=finish,
            usage=usage,
            reasoning="".join(thoughts) or None,
            cost=cost,
        )

    # -- chats ----------------------------------------------------------------------------

    async def list_models(self, timeout: float | None = None) -> ModelCatalog:
        """Every provider's models (see `ProviderRegistry.list_all`), noted in the store."""
        catalog = await self.registry.list_all(timeout)
        for provider, models in catalog.by_provider.items():
            await self.store.record_models(provider, models)
        return catalog

    async def model_for(self, chat_id: ChatId, model: str | None = None) -> str:
        """The model a request of this chat goes to: `model`, else the chat's choice,
        else `LLMHUB_DEFAULT_MODEL`, else the first model a configured provider lists."""
        if model:
            return model
        chosen = await self.store.chat_model(str(chat_id))
        if chosen:
            return chosen
        if self.settings.default_model:
            return self.settings.default_model
        if self._first_available is None:
            catalog = await self.registry.list_all()
            for provider in self.registry.names():
                models = catalog.by_provider.get(provider)
                if models:
                    self._first_available = f"{provider}/{models[0]}"
                    break
        if self._first_available is None:
            raise ConfigurationError(
                "no model available: configure a provider (see `llmhub providers`) "
                "or set LLMHUB_DEFAULT_MODEL"
            )
        return self._first_available

    async def set_chat_model(self, chat_id: ChatId, model: str | None) -> None:
        """Choose the chat's model; it must resolve to an installed provider."""
        if model is not None:
            self.registry.resolve(model)
        await self.store.set_chat_model(str(chat_id), model)

    async def reset_context(self, chat_id: ChatId) -> None:
        """Start the chat afresh: later requests carry none of the earlier turns."""
        await self.store.reset_context(str(chat_id))

    async def context_info(self, chat_id: ChatId) -> ContextInfo:
        """How many turns and characters the chat's next request will carry."""
        return await self.store.context_info(
            str(chat_id), self.settings.context_turns, self.settings.context_chars
        )

    # -- internals -----------------------------------------------------------------------------

    async def _prepare(self, prompt: Prompt) -> _Prepared:
        if not prompt.text.strip() and not prompt.attachments:
            raise EmptyPromptError("the prompt is empty")
        if len(prompt.text) > self.settings.max_prompt_chars:
            raise PromptTooLongError(len(prompt.text), self.settings.max_prompt_chars)
        chat = str(prompt.chat_id)
        provider, model_id = self.registry.resolve(await self.model_for(chat, prompt.model))
        turns = await self.store.recent_turns(
            chat, self.settings.context_turns, self.settings.context_chars
        )
        messages: list[Message] = []
        if prompt.system:
            messages.append(Message("system", prompt.system))
        for turn in turns:
            messages.append(Message("user", turn.prompt))
            messages.append(Message("assistant", turn.reply))
        messages.append(Message("user", prompt.text, prompt.attachments))
        request = ChatRequest(model_id, tuple(messages), prompt.options or GenerationOptions())
        try:
            provider.check_request(request)
        except UnsupportedInputError as exc:
            if exc.input_kind is not None:  # say which models would read it
                exc.capable_models = self.registry.models_reading(exc.input_kind)
            raise
        record = RequestRecord(
            id=prompt.request_id or uuid.uuid4().hex,
            chat_id=chat,
            provider=provider.name,
            model=model_id,
            prompt=prompt.text,
            created_at=time.time(),
            user_id=prompt.user_id,
            context_turns=len(turns),
        )
        await self.store.log_request(record)
        return _Prepared(provider, request, record)

    async def _log_success(
        self,
        prepared: _Prepared,
        started: float,
        text: str,
        finish: str | None,
        usage: Usage,
        cost: float | None,
    ) -> None:
        await self.store.log_response(
            ResponseRecord(
                request_id=prepared.record.id,
                status="ok",
                text=text,
                created_at=time.time(),
                latency_ms=(time.perf_counter() - started) * 1000,
                finish_reason=finish,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
                cost_usd=cost,
            )
        )

    async def _log_failure(
        self,
        prepared: _Prepared,
        started: float,
        text: str,
        status: ResponseStatus,
        error: LLMHubError | None,
    ) -> None:
        record = ResponseRecord(
            request_id=prepared.record.id,
            status=status,
            text=text,
            created_at=time.time(),
            latency_ms=(time.perf_counter() - started) * 1000,
            error_type=type(error).__name__ if error else None,
            error_message=str(error) if error else None,
        )
        try:
            await self.store.log_response(record)
        except Exception:  # the caller gets the provider's error, not the store's
            log.exception("could not log the failed response of request %s", record.request_id)

    def __repr__(self) -> str:
        return f"<Hub providers={self.registry.names()} store={self.store!r}>"

    def __del__(self) -> None:
        # As asyncio and aiohttp do for their transports and sessions: say so, once.
        if not getattr(self, "_closed", True):
            warnings.warn(
                f"unclosed {self!r}: close it with `await hub.aclose()` or `async with hub:`",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )


@asynccontextmanager
async def _closing(chunks: AsyncIterator[StreamChunk]) -> AsyncIterator[AsyncIterator[StreamChunk]]:
    """Close a provider's stream however it ends, so its connection is released at once."""
    try:
        yield chunks
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _as_hub_error(exc: BaseException, prepared: _Prepared) -> LLMHubError:
    """The error as the caller sees it: always an `LLMHubError` naming the request."""
    if isinstance(exc, LLMHubError):
        error = exc
    else:  # a provider bug; callers still get one error type
        error = ProviderUnavailableError(
            f"unexpected {type(exc).__name__} from the provider",
            provider=prepared.provider.name,
        )
    error.request_id = prepared.record.id
    error.provider = error.provider or prepared.provider.name
    error.model = error.model or prepared.request.model
    return error
