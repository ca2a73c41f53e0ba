"""One call's way through its model and its fallbacks, every attempt logged.

The hub plans a call once (validation, context, the chain of models) and then
walks it with `FallbackChain`: each model gets its own request/response pair in the
store, the fallbacks' linked to the first by `first_request_id`. A model is
passed over, with rows saying why, when its provider's circuit is open or it
cannot read the call's files. The walk goes on only after an unavailability
error (5xx, timeout, refused connection, a rate limit longer than the caller
waits, a stream broken before its first piece); any other error is the caller's
to see and ends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._breaker import CircuitBreaker
from ._exceptions import (
    LLMHubError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    StoreError,
    StreamInterruptedError,
    UnsupportedInputError,
)
from ._output import OutputType
from ._provider import BaseProvider
from ._tracing import Tracing
from ._types import Attempt, AttemptOutcome, ChatRequest, Prompt, StreamChunk, ToolStep, Usage
from .store import RequestRecord, ResponseRecord, ResponseStatus, Store

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["Candidate", "FallbackChain", "ModelCall", "Plan"]

log = logging.getLogger("llmhub")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model of the chain and the request it would be sent."""

    provider: BaseProvider
    request: ChatRequest
    #: Set on a fallback that cannot read the call's files: it is passed over.
    unreadable: UnsupportedInputError | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A validated call: its context and its chain, the asked-for model first."""

    prompt: Prompt
    chat_id: str
    first_id: str
    context_turns: int
    candidates: tuple[Candidate, ...]
    #: A structured reply's schema and parser (`Prompt.output`).
    output: OutputType | None = None


@dataclass(slots=True)
class ModelCall:
    """One model called for the exchange: its request row logged (and its span, when
    tracing); the chain's attempts are these, in order."""

    provider: BaseProvider
    request: ChatRequest
    record: RequestRecord
    started: float = field(default_factory=time.perf_counter)
    span: Span | None = None


def unavailability(error: LLMHubError, *, before_first_piece: bool = True) -> AttemptOutcome | None:
    """The outcome an error makes of an attempt when it calls for a fallback, else `None`."""
    if isinstance(error, RateLimitError):
        return "rate_limited"
    if isinstance(error, ProviderTimeoutError):
        return "timeout"
    if isinstance(error, ProviderUnavailableError):
        return "unavailable"
    if isinstance(error, StreamInterruptedError) and before_first_piece:
        return "unavailable"
    return None


class FallbackChain:
    """The walk along one plan's chain of models, each called logged; `attempts` are
    the models that did not answer (`Reply.attempts`)."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        breaker: CircuitBreaker,
        tracing: Tracing,
        *,
        stream: bool = False,
    ) -> None:
        self.plan = plan
        self.attempts: list[Attempt] = []
        self._store = store
        self._breaker = breaker
        self._tracing = tracing
        self._stream = stream
        self._next = 0
        self._give_up: LLMHubError | None = None

    async def next(self) -> ModelCall | None:
        """The next model to call, its request logged; `None` when the chain is done."""
        while self._next < len(self.plan.candidates):
            index = self._next
            self._next += 1
            candidate = self.plan.candidates[index]
            call = await self._log_request(index, candidate)
            skipped = self._skip(candidate)
            if skipped is None:
                call.span = self._tracing.start(
                    call.provider, call.request, call.record.id, stream=self._stream
                )
                return call
            outcome, error = skipped
            await self._log_response(call, "error", "", error=error)
            self._note(call, outcome, error)
        return None

    async def failed(
        self, call: ModelCall, text: str, exc: Exception, *, before_first_piece: bool = True
    ) -> LLMHubError | None:
        """Log a failed attempt. The error to raise now, or `None` to go on down the chain."""
        error = _as_hub_error(exc, call)
        if call.span is not None:
            self._tracing.failed(call.span, error)
        await self._log_response(call, "error", text, error=error)
        outcome = unavailability(error, before_first_piece=before_first_piece)
        if outcome is None:  # the provider answered: the caller must see this error
            self._breaker.succeeded(call.provider.name)
            error.attempts = tuple(self.attempts)
            return error
        self._breaker.failed(call.provider.name)
        if not before_first_piece:
            error.attempts = tuple(self.attempts)
            return error
        self._note(call, outcome, error)
        return None

    async def cancelled(self, call: ModelCall, text: str) -> None:
        """Log what arrived of an attempt stopped by the caller."""
        self._breaker.released(call.provider.name)
        if call.span is not None:
            self._tracing.failed(call.span, "cancelled")
        await self._log_response(call, "cancelled", text)

    async def answered(
        self, call: ModelCall, text: str, finish: str | None, usage: Usage, *, model: str
    ) -> float | None:
        """Log the answer (`model`: as the provider named it); its cost in USD, if known."""
        self._breaker.succeeded(call.provider.name)
        cost = call.provider.cost(call.request.model, usage, call.record.created_at)
        if call.span is not None:
            self._tracing.answered(
                call.span, model=model, text=text, finish=finish, usage=usage, cost=cost
            )
        record = ResponseRecord(
            request_id=call.record.id,
            status="ok",
            text=text,
            created_at=time.time(),
            latency_ms=(time.perf_counter() - call.started) * 1000,
            finish_reason=finish,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            cost_usd=cost,
        )
        try:
            await self._store.log_response(record)
        except StoreError:
            # The answer is given and paid for: it reaches the caller, the row's loss is
            # said here (a store that can hold rows through an outage holds them).
            log.exception("the answer of request %s could not be logged", record.request_id)
        return cost

    async def tool_step(self, number: int, step: ToolStep) -> None:
        """Log a round of tool calls under the exchange's id."""
        await self._store.log_tool_step(self.plan.first_id, number, step)

    def calling(self, call: ModelCall) -> AbstractContextManager[None]:
        """Around a provider call: its span as the current one, when tracing."""
        return nullcontext() if call.span is None else self._tracing.current(call.span)

    async def traced(
        self, call: ModelCall, chunks: AsyncIterator[StreamChunk]
    ) -> AsyncGenerator[StreamChunk, None]:
        """A traced stream's chunks: the request made under its span, the time to
        the first piece noted. Only streams with a span go through here."""
        assert call.span is not None
        iterator = aiter(chunks)
        try:
            with self._tracing.current(call.span):  # the request is sent on the first read
                chunk = await anext(iterator, None)
            waiting = True
            while chunk is not None:
                if waiting and chunk.text:
                    waiting = False
                    self._tracing.first_chunk(call.span, time.perf_counter() - call.started)
                yield chunk
                chunk = await anext(iterator, None)
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()

    def give_up(self) -> LLMHubError:
        """The error to raise when no model of the chain answered: the last one's."""
        assert self._give_up is not None, "give_up() before any attempt failed"
        error = self._give_up
        error.attempts = tuple(a for a in self.attempts if a.request_id != error.request_id)
        return error

    # -- internals -----------------------------------------------------------------

    def _skip(self, candidate: Candidate) -> tuple[AttemptOutcome, LLMHubError] | None:
        if candidate.unreadable is not None:
            return "cannot_read", candidate.unreadable
        name = candidate.provider.name
        if self._breaker.allow(name):
            return None
        wait = self._breaker.retry_in(name)
        return "circuit_open", ProviderUnavailableError(
            f"skipped: it failed {self._breaker.failures} times in a row;"
            f" it is tried again in {wait:.0f} s",
            provider=name,
            model=candidate.request.model,
        )

    def _note(self, call: ModelCall, outcome: AttemptOutcome, error: LLMHubError) -> None:
        error.request_id = call.record.id
        self.attempts.append(
            Attempt(call.provider.name, call.request.model, outcome, str(error), call.record.id)
        )
        if outcome != "cannot_read" or self._give_up is None:
            self._give_up = error

    async def _log_request(self, index: int, candidate: Candidate) -> ModelCall:
        plan = self.plan
        # Fallbacks' ids derive from the first, so a call retried after a crash
        # (same `Prompt.request_id`) replaces its rows instead of adding more.
        record = RequestRecord(
            id=plan.first_id if index == 0 else f"{plan.first_id}.{index}",
            chat_id=plan.chat_id,
            provider=candidate.provider.name,
            model=candidate.request.model,
            prompt=plan.prompt.text,
            created_at=time.time(),
            user_id=plan.prompt.user_id,
            context_turns=plan.context_turns,
            first_request_id=None if index == 0 else plan.first_id,
            replaces=plan.prompt.replaces,
        )
        await self._store.log_request(record)
        return ModelCall(candidate.provider, candidate.request, record)

    async def _log_response(
        self,
        call: ModelCall,
        status: ResponseStatus,
        text: str,
        *,
        error: LLMHubError | None = None,
    ) -> None:
        record = ResponseRecord(
            request_id=call.record.id,
            status=status,
            text=text,
            created_at=time.time(),
            latency_ms=(time.perf_counter() - call.started) * 1000,
            error_type=type(error).__name__ if error else None,
            error_message=str(error) if error else None,
        )
        try:
            await self._store.log_response(record)
        except Exception:  # the caller gets the provider's error, not the store's
            log.exception("could not log the failed response of request %s", record.request_id)


def _as_hub_error(exc: Exception, call: ModelCall) -> LLMHubError:
    """The error as the caller sees it: always an `LLMHubError` naming the request."""
    if isinstance(exc, LLMHubError):
        error = exc
    else:  # a provider bug; callers still get one error type
        error = ProviderUnavailableError(
            f"unexpected {type(exc).__name__} from the provider", provider=call.provider.name
        )
    error.request_id = call.record.id
    error.provider = error.provider or call.provider.name
    error.model = error.model or call.request.model
    # Every error passes here before it is logged or raised: the one place its text
    # loses the provider's secrets, whichever path made it.
    scrubbed = call.provider.scrub(error.message)
    if scrubbed != error.message:
        error.message = scrubbed
        error.args = (scrubbed, *error.args[1:])
    return error
