"""One exchange's rounds with a model: tool calls run and answered, a structured
reply checked, until the model gives its answer.

The hub asks the model; when the reply asks for tools, `ToolLoop` runs them
(all at once), adds the model's turn and the results to the conversation and
hands back the next request. After `max_tool_steps` rounds the next request
forbids tools (`tool_choice="none"`), so the model answers from what it has. A
structured reply that does not match its schema is asked for once more with
what was wrong; a second miss raises `OutputValidationError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ._output import OutputType
from ._tools import Tool, run_tool_calls
from ._types import ChatRequest, Message, ToolCall, ToolCallDelta, ToolResult, ToolStep, Usage

__all__ = ["ToolCallAssembler", "ToolLoop", "add_usage", "step_messages"]


class ToolLoop:
    """The state of one exchange across its model calls."""

    def __init__(
        self,
        request: ChatRequest,
        *,
        tools: Sequence[Tool] = (),
        run_tools: bool = True,
        max_steps: int = 8,
        output: OutputType | None = None,
        retry_output: bool = True,
    ) -> None:
        self.request = request
        self.steps: list[ToolStep] = []
        self.usage = Usage()
        self.parsed: Any = None
        self._tools = tuple(tools)
        self._run = run_tools and any(tool.fn is not None for tool in tools)
        self._max_steps = max_steps
        self._output = output
        self._retry_output = retry_output
        self.output_retried = False

    def count(self, usage: Usage | None) -> None:
        """Add one model call's usage to the exchange's."""
        if usage is not None:
            self.usage = add_usage(self.usage, usage)

    @property
    def will_run(self) -> bool:
        """Whether the hub runs the calls the model asks for now (else they go back)."""
        return self._run and self.request.tool_choice != "none"

    def runs(self, calls: Sequence[ToolCall]) -> bool:
        """Whether the hub runs these calls (else they go back to the caller)."""
        return bool(calls) and self.will_run

    async def run(self, calls: Sequence[ToolCall]) -> list[ToolResult]:
        """Every call run at once; results in the calls' order."""
        return await run_tool_calls(self._tools, calls)

    def record(
        self,
        text: str,
        reasoning: str | None,
        calls: Sequence[ToolCall],
        results: Sequence[ToolResult],
    ) -> ToolStep:
        """Note a round, and make the next request carry it (tools forbidden once
        the rounds are used up)."""
        step = ToolStep(tuple(calls), tuple(results), text, reasoning)
        self.steps.append(step)
        messages = (*self.request.messages, *step_messages(step))
        choice = self.request.tool_choice
        if len(self.steps) >= self._max_steps:
            choice = "none"
        elif choice is not None and choice != "auto":
            choice = "auto"  # "required" or one named tool: asked of the first round only
        self.request = replace(self.request, messages=messages, tool_choice=choice)
        return step

    def check_answer(self, text: str) -> str | None:
        """Parse a structured reply into `parsed`. `None` when it is done; the error
        text when it did not match (the next request then asks once more, if allowed:
        see `can_retry_output`)."""
        if self._output is None:
            return None
        try:
            self.parsed = self._output.parse(text)
        except ValueError as exc:
            return str(exc) or "the reply does not match the schema"
        return None

    @property
    def can_retry_output(self) -> bool:
        return self._retry_output and not self.output_retried

    def retry_output(self, text: str, errors: str) -> None:
        """Ask once more for a reply that matches the schema, saying what was wrong."""
        self.output_retried = True
        correction = Message(
            "user",
            "Your reply did not match the required JSON schema: "
            f"{errors}. Answer again with only the corrected JSON.",
        )
        messages = (*self.request.messages, Message("assistant", text), correction)
        self.request = replace(self.request, messages=messages)


def step_messages(step: ToolStep) -> tuple[Message, ...]:
    """A round as conversation turns: the model's calls, then one result per call."""
    return (
        Message("assistant", step.text, tool_calls=step.calls, reasoning=step.reasoning),
        *(
            Message("tool", result.output, tool_call_id=result.call.id, name=result.call.name)
            for result in step.results
        ),
    )


def add_usage(total: Usage, more: Usage) -> Usage:
    """Two calls' token counts together (`None` stays `None` only where both are)."""

    def plus(a: int | None, b: int | None) -> int | None:
        return None if a is None and b is None else (a or 0) + (b or 0)

    return Usage(
        prompt_tokens=plus(total.prompt_tokens, more.prompt_tokens),
        completion_tokens=plus(total.completion_tokens, more.completion_tokens),
        total_tokens=plus(total.total_tokens, more.total_tokens),
        cached_tokens=plus(total.cached_tokens, more.cached_tokens),
        reasoning_tokens=plus(total.reasoning_tokens, more.reasoning_tokens),
    )


class ToolCallAssembler:
    """Whole tool calls from a stream's pieces (by `index`; arguments in fragments)."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}

    def add(self, deltas: Sequence[ToolCallDelta]) -> list[int]:
        """Take pieces; the indexes of calls seen for the first time."""
        new = []
        for delta in deltas:
            call = self._calls.get(delta.index)
            if call is None:
                call = self._calls[delta.index] = {"id": None, "name": "", "args": []}
                new.append(delta.index)
            if delta.id:
                call["id"] = delta.id
            if delta.name:
                call["name"] = delta.name
            if delta.signature:
                call["signature"] = delta.signature
            if delta.arguments:
                call["args"].append(delta.arguments)
        return new

    def call(self, index: int) -> ToolCall:
        """The call at `index` as it stands (its arguments may still be coming)."""
        call = self._calls[index]
        return ToolCall(
            call["id"] or f"call_{index}",
            call["name"],
            "".join(call["args"]) or "{}",
            call.get("signature"),
        )

    def calls(self) -> list[ToolCall]:
        """The calls so far, in index order."""
        return [self.call(index) for index in sorted(self._calls)]

    def __bool__(self) -> bool:
        return bool(self._calls)
