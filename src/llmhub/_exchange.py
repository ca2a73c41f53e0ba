"""One exchange, from the plan to the logged answer: the one fallback loop, for whole
replies and streams alike.

The chain of models is walked once (`FallbackChain`); for each model called, its
rounds run until it answers: a round is one provider call, whole
(`BaseProvider.generate`) or streamed (`BaseProvider.stream`, its pieces passed on as
they come); a round that asks for tools runs them and goes on; an answer that does
not match the structured output's schema is asked again once (whole replies only:
streamed text cannot be taken back). Whatever ends the exchange is logged by the
chain: the answer, the error, or what arrived before a cancellation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ._attempts import FallbackChain, ModelCall
from ._exceptions import OutputValidationError, ReplyTooLongError
from ._stream import StreamState
from ._toolloop import ToolCallAssembler, ToolLoop
from ._types import (
    Prompt,
    ReasoningEvent,
    Reply,
    StreamChunk,
    ToolCall,
    ToolCallEvent,
    ToolResultEvent,
    ToolStep,
    Usage,
)

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["Event", "run_exchange"]

#: What a streamed exchange passes on: text pieces, and the model's thoughts and tool
#: events when asked for.
Event = str | ReasoningEvent | ToolCallEvent | ToolResultEvent


@dataclass(slots=True)
class _Round:
    """What the model said in one provider call of an exchange."""

    parts: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    finish: str | None = None
    #: The call's last usage report (Gemini's stream reports a running total).
    usage: Usage | None = None
    calls: tuple[ToolCall, ...] = ()
    #: The provider's own reply, for a whole (not streamed) round.
    whole: Reply | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def reasoning(self) -> str | None:
        return "".join(self.thoughts) or None


async def run_exchange(
    hub: Hub, prompt: Prompt, state: StreamState, *, stream: bool
) -> AsyncGenerator[Event, None]:
    """Answer `prompt`, the reply left in `state.reply`; streamed, its pieces (and tool
    events, if `state.events`) are yielded as they come, whole, nothing is."""
    plan = await hub._plan(prompt)
    chain = FallbackChain(plan, hub.store, hub.breaker, hub.tracing, stream=stream)
    while (call := await chain.next()) is not None:
        state.request_id = call.record.id
        loop = ToolLoop(
            call.request,
            tools=plan.prompt.tools,
            run_tools=plan.prompt.run_tools,
            max_steps=plan.prompt.max_tool_steps,
            output=plan.output,
            retry_output=not stream,
        )
        said = _Round()
        shown = False  # whether a piece or a tool event reached the consumer
        try:
            # A whole call runs under its span; a stream's chunks are traced one by one.
            with nullcontext() if stream else chain.calling(call):
                while True:
                    said = _Round()
                    if stream:
                        async for event in _streamed(hub, chain, call, loop, said, state):
                            # Thoughts shown do not bind the exchange to this model.
                            shown = shown or not isinstance(event, ReasoningEvent)
                            yield event
                    else:
                        said.whole = await call.provider.generate(loop.request)
                        _take_whole(said, said.whole)
                    loop.count(said.usage)
                    if loop.runs(said.calls):
                        results = await loop.run(said.calls)
                        if state.events:
                            for result in results:
                                yield ToolResultEvent(result)
                        step = loop.record(said.text, said.reasoning, said.calls, results)
                        await chain.tool_step(len(loop.steps) - 1, step)
                        continue
                    if said.calls:  # returned to the caller: logged all the same
                        asked = ToolStep(said.calls, (), said.text, said.reasoning)
                        await chain.tool_step(len(loop.steps), asked)
                    errors = loop.check_answer(said.text)
                    if errors is None:
                        break
                    if not loop.can_retry_output:
                        raise OutputValidationError(
                            f"the reply does not match the schema: {errors}",
                            text=said.text,
                            errors=errors,
                            model=call.request.model,
                        )
                    loop.retry_output(said.text, errors)
        except (GeneratorExit, asyncio.CancelledError):
            await chain.cancelled(call, said.text)
            raise
        except Exception as exc:
            # Once a piece reached the consumer or a tool ran, another model cannot
            # take the exchange over.
            error = await chain.failed(
                call, said.text, exc, before_first_piece=not shown and not loop.steps
            )
            if error is None:
                continue  # the next model of the chain answers
            if error is exc:
                raise
            raise error from exc
        model = said.whole.model if said.whole is not None else call.request.model
        cost = await chain.answered(call, said.text, said.finish, loop.usage, model=model)
        state.reply = replace(
            said.whole or _streamed_reply(call, said, loop),
            usage=loop.usage,
            cost=cost,
            attempts=tuple(chain.attempts),
            request_id=plan.first_id,
            steps=tuple(loop.steps),
            parsed=loop.parsed,
        )
        return
    raise chain.give_up()


def _take_whole(said: _Round, reply: Reply) -> None:
    said.parts.append(reply.text)
    if reply.reasoning:
        said.thoughts.append(reply.reasoning)
    said.finish, said.usage, said.calls = reply.finish_reason, reply.usage, reply.tool_calls


async def _streamed(
    hub: Hub,
    chain: FallbackChain,
    call: ModelCall,
    loop: ToolLoop,
    said: _Round,
    state: StreamState,
) -> AsyncGenerator[Event, None]:
    """One streamed provider call: its pieces passed on, what it said noted in `said`."""
    limit = hub.settings.max_reply_bytes
    size = sum(len(step.text) for step in loop.steps)  # the whole exchange's, rounds before too
    calls = ToolCallAssembler()
    chunks: AsyncIterator[StreamChunk] = call.provider.stream(loop.request)
    if call.span is not None:
        chunks = chain.traced(call, chunks)
    try:
        async for chunk in chunks:
            if chunk.reasoning:
                said.thoughts.append(chunk.reasoning)
                if state.events:
                    yield ReasoningEvent(chunk.reasoning)
            if chunk.usage is not None:
                said.usage = chunk.usage
            if chunk.finish_reason:
                said.finish = chunk.finish_reason
            if chunk.tool_calls:
                calls.add(chunk.tool_calls)
            if chunk.text:
                said.parts.append(chunk.text)
                size += len(chunk.text)
                if size > limit:  # any provider's, whatever its wire
                    raise ReplyTooLongError(
                        f"the reply passed {limit:,} characters"
                        " (LLMHUB_MAX_REPLY_BYTES); what came before is kept",
                        provider=call.provider.name,
                        model=call.request.model,
                    )
                yield chunk.text
    finally:  # however it ends, so the provider's connection is released at once
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
    said.calls = tuple(calls.calls())
    if state.events and loop.will_run:
        # Once the round has ended, so each call comes with its whole arguments (a UI
        # can say "reading example.org…"), just before the tools run.
        for asked in said.calls:
            yield ToolCallEvent(asked)


def _streamed_reply(call: ModelCall, said: _Round, loop: ToolLoop) -> Reply:
    return Reply(
        text=said.text,
        model=call.request.model,
        provider=call.provider.name,
        finish_reason=said.finish,
        reasoning=said.reasoning,
        # Calls not run here go back to the caller (`run_tools=False`).
        tool_calls=() if loop.runs(said.calls) else said.calls,
    )
