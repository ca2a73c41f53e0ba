"""The hub: a registry and a store, and the calls that log every exchange."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import (
    Coroutine,
    Generator,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import replace
from time import time_ns
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack, overload

from ._attempts import Candidate, Plan
from ._breaker import CircuitBreaker
from ._chat import Chat
from ._embed import embed_texts
from ._exceptions import (
    ConfigurationError,
    EmptyPromptError,
    InvalidRequestError,
    InvalidTextError,
    LLMHubError,
    PromptTooLongError,
    UnsupportedInputError,
)
from ._exchange import run_exchange
from ._output import output_type
from ._provider import BaseProvider
from ._registry import ModelCatalog, ProviderRegistry
from ._stream import ReplyStream, StreamState
from ._toolloop import step_messages
from ._tracing import Tracing
from ._types import (
    Attachment,
    ChatId,
    ChatRequest,
    Embeddings,
    GenerationOptions,
    Message,
    Prompt,
    Reply,
    ToolChoice,
    Usage,
)
from .store import ContextInfo, ProviderStats, Store, Turn

if TYPE_CHECKING:
    from ._settings import HubSettings

__all__ = ["CallOptions", "Hub", "HubOpening", "prompt_of"]

log = logging.getLogger("llmhub")
T = TypeVar("T")


class CallOptions(TypedDict, total=False):
    """The keyword arguments every call takes: the fields of `Prompt` (see there),
    but `output`, which the calls take on its own (it decides what they return)."""

    user_id: int | None
    system: str | None
    attachments: Sequence[Attachment]
    options: GenerationOptions | None
    request_id: str | None
    fallbacks: Sequence[str] | None
    replaces: str | None
    tools: Sequence[Any]
    tool_choice: ToolChoice | None
    run_tools: bool
    max_tool_steps: int
    context: bool
    history: Sequence[Message] | None


class Hub:
    """A registry of providers and a store, with the calls apps make.

    Build one with `await Hub.open()` (settings from the environment and
    `.env`), or from parts for tests and embedding. Close it with `aclose()`,
    or use it as `async with Hub.open() as hub:`.
    """

    def __init__(self, registry: ProviderRegistry, store: Store, settings: HubSettings) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self._first_available: str | None = None
        self._closed = False
        #: Skips a provider that keeps failing, for this hub (see `_breaker`).
        self.breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_cooldown)
        self.tracing = Tracing(capture_content=settings.otel_capture_content)

    @classmethod
    def open(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        registry: ProviderRegistry | None = None,
        store: Store | None = None,
    ) -> HubOpening:
        """A hub built from `env` (default: the environment over `.env`), store opened:
        `async with Hub.open() as hub:` (closed at the end), or `hub = await Hub.open()`
        (close it with `aclose()`)."""
        return HubOpening(cls._open(env, registry=registry, store=store))

    @classmethod
    async def _open(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        registry: ProviderRegistry | None = None,
        store: Store | None = None,
    ) -> Hub:
        """`open()` as a coroutine, for a task or another loop's runner to await."""
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

    @overload
    async def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: None = None,
        **options: Unpack[CallOptions],
    ) -> str: ...

    @overload
    async def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: type[T],
        **options: Unpack[CallOptions],
    ) -> T: ...

    @overload
    async def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Mapping[str, Any],
        **options: Unpack[CallOptions],
    ) -> Any: ...

    async def generate_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Any:
        """The reply's text; with `output=`, the parsed structured reply. See `reply()`."""
        reply = await self._ask(Prompt.of(chat_id, prompt, model, output=output, **options))
        return reply.parsed if output is not None else reply.text

    @overload
    async def reply(self, chat_id: Prompt, /) -> Reply: ...

    @overload
    async def reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Reply: ...

    async def reply(
        self,
        chat_id: ChatId | Prompt,
        prompt: str | None = None,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> Reply:
        """The whole `Reply` (usage, finish reason, reasoning, tool steps, the parsed
        structured reply), asked as `reply(chat_id, text, model, **fields)` or with a
        `Prompt` built beforehand: `reply(prompt)`.

        The model (default: the chat's, then the configured one) is asked with the
        chat's earlier turns as context; the request is logged before and the
        response after. With tools, the model's calls are run and answered until it
        replies (every round logged); with `output`, the reply is parsed into
        `Reply.parsed`. Invalid input raises an `InvalidRequestError` and sends
        nothing. A provider failure is logged with its error and raised as an
        `LLMHubError` whose `request_id` names the logged row.
        """
        return await self._ask(prompt_of(chat_id, prompt, model, output, options))

    @overload
    def stream_reply(self, chat_id: Prompt, /) -> ReplyStream: ...

    @overload
    def stream_reply(
        self,
        chat_id: ChatId,
        prompt: str,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> ReplyStream: ...

    def stream_reply(
        self,
        chat_id: ChatId | Prompt,
        prompt: str | None = None,
        model: str | None = None,
        *,
        output: Any = None,
        **options: Unpack[CallOptions],
    ) -> ReplyStream:
        """The streaming twin of `reply()`: iterate it for text pieces as they arrive
        (`stream.events()` also yields `ReasoningEvent`, `ToolCallEvent` and
        `ToolResultEvent`).

        The whole reply is logged at the end; if the stream breaks or the consumer
        stops early (`break`, `aclose()`, cancellation), what arrived is logged
        with status `error` or `cancelled`. After the end, `.reply` holds the
        `Reply` (usage, finish reason, reasoning) and `.request_id` the row. A
        structured reply is checked once at the end (streamed text cannot be taken
        back to ask again).
        """
        state = StreamState()
        request = prompt_of(chat_id, prompt, model, output, options)
        return ReplyStream(run_exchange(self, request, state, stream=True), state)

    async def ask(self, prompt: Prompt) -> Reply:
        """Deprecated: `reply(prompt)` (one name per operation)."""
        warnings.warn("Hub.ask(prompt) is Hub.reply(prompt)", DeprecationWarning, stacklevel=2)
        return await self._ask(prompt)

    def stream(self, prompt: Prompt) -> ReplyStream:
        """Deprecated: `stream_reply(prompt)` (one name per operation)."""
        warnings.warn(
            "Hub.stream(prompt) is Hub.stream_reply(prompt)", DeprecationWarning, stacklevel=2
        )
        return self.stream_reply(prompt)

    async def _ask(self, prompt: Prompt) -> Reply:
        state = StreamState()
        async for _ in run_exchange(self, prompt, state, stream=False):
            pass  # a whole reply passes nothing on
        assert state.reply is not None
        return state.reply

    async def logged_reply(self, request_id: str) -> Reply | None:
        """The reply already logged for the exchange `request_id`, if it was answered:
        for a caller that may run a call twice (a retried update after a crash), so the
        second run delivers the same answer instead of asking the model again."""
        row = await self.store.answer_of(request_id)
        if row is None:
            return None
        usage = Usage(
            prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"],
            total_tokens=row["total_tokens"],
        )
        return Reply(
            text=str(row["text"]),
            model=str(row["model"]),
            provider=str(row["provider"]),
            finish_reason=row["finish_reason"],
            usage=usage,
            cost=row["cost_usd"],
            request_id=request_id,
        )

    # -- embeddings ---------------------------------------------------------------------

    async def embed(
        self, texts: Sequence[str], model: str, *, user_id: int | None = None
    ) -> Embeddings:
        """One vector per text, in order, from an embedding model
        (`mistral-embed`, `gemini-embedding-001`, ...). Batched to the API's limits;
        each call logged with its usage and cost (`llmhub models` shows which
        models embed)."""
        return await embed_texts(self, texts, model, user_id=user_id)

    # -- chats ----------------------------------------------------------------------------

    async def list_models(self, timeout: float | None = None) -> ModelCatalog:
        """Every provider's models (see `ProviderRegistry.list_all`), noted in the store."""
        catalog = await self.registry.list_all(timeout)
        for provider, models in catalog.by_provider.items():
            await self.store.record_models(provider, models)
        return catalog

    def chat(self, chat_id: ChatId) -> Chat:
        """The chat `chat_id`: its model, system prompt and context, read and changed
        in one place (see `Chat`)."""
        return Chat(self, chat_id)

    async def forget_user(self, user_id: int, *, chats: Iterable[ChatId] = ()) -> int:
        """Delete a user's requests and the answers to them, in every chat, and the
        settings of `chats` (theirs alone: a private chat); their totals per provider and
        day stay, without them, for the statistics. How many requests went."""
        return await self.store.forget_user(user_id, [str(chat) for chat in chats])

    async def known_models(self) -> dict[str, list[str]]:
        """The models the providers listed before (`list_models`), by provider: what a
        picker shows without asking every provider again."""
        return await self.store.known_models()

    async def usage_by_provider(self, since: float) -> list[ProviderStats]:
        """Requests, errors, tokens and cost per provider since a Unix time (forgotten
        users' counted in)."""
        return await self.store.provider_stats(since)

    async def model_for(self, chat_id: ChatId, model: str | None = None) -> str:
        """The model a request of this chat goes to: `model`, else the chat's choice,
        else `LLMHUB_DEFAULT_MODEL`, else the first model a configured provider lists."""
        if model:
            return model
        return await self._default_model(await self.store.chat_model(str(chat_id)))

    async def _default_model(self, chosen: str | None) -> str:
        """The chat's `chosen` model, else the hub's default (see `model_for`)."""
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
        """`hub.chat(chat_id).set_model(model)`."""
        await self.chat(chat_id).set_model(model)

    async def reset_context(self, chat_id: ChatId) -> None:
        """`hub.chat(chat_id).reset()`."""
        await self.chat(chat_id).reset()

    async def context_info(self, chat_id: ChatId) -> ContextInfo:
        """`hub.chat(chat_id).context()`."""
        return await self.chat(chat_id).context()

    # -- internals -----------------------------------------------------------------------------

    async def _plan(self, prompt: Prompt) -> Plan:
        """Validate the call, read its context once, and resolve its chain of models."""
        last = prompt.history[-1] if prompt.history else None
        continues = last is not None and last.role == "tool"  # after the caller's tool results
        if not prompt.text.strip() and not prompt.attachments and not continues:
            raise EmptyPromptError("the prompt is empty")
        if len(prompt.text) > self.settings.max_prompt_chars:
            raise PromptTooLongError(len(prompt.text), self.settings.max_prompt_chars)
        if prompt.max_tool_steps < 0:
            raise InvalidRequestError(f"max_tool_steps is {prompt.max_tool_steps}: 0 or more")
        if prompt.user_id is not None and not -(2**63) <= prompt.user_id < 2**63:
            raise InvalidRequestError(f"user_id {prompt.user_id} does not fit in 64 bits")
        _check_text("the prompt", prompt.text)
        for number, message in enumerate(prompt.history or ()):
            _check_text(f"history message {number}", message.content)
        chat = str(prompt.chat_id)
        # The chat's own model where the prompt names none; its system prompt goes with
        # its context (a call without the chat's turns reads nothing of the chat but
        # its model, and with a model of its own, nothing at all: it runs while the
        # database is away).
        with_chat = prompt.context and prompt.history is None and prompt.system is None
        chosen, system = None, prompt.system
        if not prompt.model or with_chat:
            chosen, own_system = await self.store.chat_state(chat)
            system = own_system if with_chat else system
        _check_text("the system prompt", system or "")
        model_name = prompt.model or await self._default_model(chosen)
        provider, model_id = self.registry.resolve(model_name)
        messages: list[Message] = []
        if system:
            messages.append(Message("system", system))
        turns: list[Turn] = []
        if prompt.history is not None:
            messages.extend(prompt.history)
        elif prompt.context:
            # Neither the exchange a regeneration replaces nor this call's own (asked
            # again under its id after a crash, its earlier answer may be logged).
            mine = (prompt.replaces, prompt.request_id)
            turns = await self._turns(chat, tuple(i for i in mine if i is not None))
            for turn in turns:
                messages.append(Message("user", turn.prompt))
                for step in turn.steps:
                    messages.extend(step_messages(step))
                messages.append(Message("assistant", turn.reply))
        if prompt.text or prompt.attachments:
            messages.append(Message("user", prompt.text, prompt.attachments))
        output = output_type(prompt.output) if prompt.output is not None else None
        request = ChatRequest(
            model_id,
            tuple(messages),
            prompt.options or GenerationOptions(),
            tools=tuple(tool.spec for tool in prompt.tools),
            tool_choice=prompt.tool_choice if prompt.tools else None,
            output=output.spec if output is not None else None,
        )
        try:
            provider.check_request(request)
        except UnsupportedInputError as exc:
            if exc.input_kind is not None:  # say which models would read it
                exc.capable_models = self.registry.models_reading(exc.input_kind)
            raise
        return Plan(
            prompt=prompt,
            chat_id=chat,
            first_id=prompt.request_id or new_request_id(),
            context_turns=len(turns),
            candidates=(Candidate(provider, request), *self._fallbacks(prompt, provider, request)),
            output=output,
        )

    async def _turns(self, chat: str, exclude: tuple[str, ...]) -> list[Turn]:
        """The chat's context from the log, with the tool rounds of the turns that had them."""
        turns = await self.store.recent_turns(
            chat, self.settings.context_turns, self.settings.context_chars, exclude=exclude
        )
        with_tools = [turn.request_id for turn in turns if turn.has_tools]
        if not with_tools:
            return turns
        steps = await self.store.tool_steps(with_tools)
        return [replace(t, steps=tuple(steps.get(t.request_id, ()))) for t in turns]

    def _fallbacks(
        self, prompt: Prompt, first: BaseProvider, request: ChatRequest
    ) -> list[Candidate]:
        """The call's fallback models, each once and never the first again."""
        names = prompt.fallbacks if prompt.fallbacks is not None else self.settings.fallbacks
        seen = {(first.name, request.model)}
        candidates = []
        for name in names:
            try:
                provider, model_id = self.registry.resolve(name)
            except LLMHubError as exc:
                raise ConfigurationError(f"fallback model {name!r}: {exc}") from exc
            if (provider.name, model_id) in seen:
                continue
            seen.add((provider.name, model_id))
            fallback = replace(request, model=model_id)
            try:
                provider.check_request(fallback)
            except UnsupportedInputError as exc:
                candidates.append(Candidate(provider, fallback, unreadable=exc))
                continue
            candidates.append(Candidate(provider, fallback))
        return candidates

    def __repr__(self) -> str:
        return f"<llmhub.Hub providers={self.registry.names()} store={self.store!r}>"

    def __del__(self) -> None:
        # As asyncio and aiohttp do for their transports and sessions: say so, once.
        if not getattr(self, "_closed", True):
            warnings.warn(
                f"unclosed {self!r}: close it with `await hub.aclose()` or `async with hub:`",
                ResourceWarning,
                source=self,
                stacklevel=1,
            )


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, the time in milliseconds then 80 random bits.

    Ids in time order are appended at the end of the store's primary-key index,
    where random ones (uuid4) land anywhere in it: more pages touched per commit.
    """
    return f"{time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def prompt_of(
    chat_id: ChatId | Prompt,
    text: str | None,
    model: str | None,
    output: Any,
    options: CallOptions,
) -> Prompt:
    """The call's `Prompt`: the one given, or one built of the call's fields."""
    if isinstance(chat_id, Prompt):
        if text is not None or model is not None or output is not None or options:
            raise TypeError("a Prompt carries its own fields: pass it alone")
        return chat_id
    if text is None:
        raise TypeError("the prompt's text is missing: reply(chat_id, text, ...)")
    return Prompt.of(chat_id, text, model, output=output, **options)


def _check_text(what: str, text: str) -> None:
    """Refuse text that is not valid Unicode before it reaches a log or a provider."""
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidTextError(
            f"{what} is not valid Unicode at character {exc.start}"
            " (a lone surrogate); nothing was sent"
        ) from exc


class HubOpening:
    """What `Hub.open()` returns: awaited, the open `Hub`; used as
    `async with Hub.open() as hub:`, the hub, closed when the block ends."""

    __slots__ = ("_hub", "_opening")

    def __init__(self, opening: Coroutine[Any, Any, Hub]) -> None:
        self._opening = opening
        self._hub: Hub | None = None

    def __await__(self) -> Generator[Any, None, Hub]:
        return self._opening.__await__()

    async def __aenter__(self) -> Hub:
        self._hub = await self._opening
        return self._hub

    async def __aexit__(self, *exc: object) -> None:
        if self._hub is not None:
            await self._hub.aclose()

    def __repr__(self) -> str:
        return f"<llmhub.HubOpening {'open' if self._hub is not None else 'not yet awaited'}>"
