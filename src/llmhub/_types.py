"""The provider-neutral values that cross the provider boundary."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ._tools import Tool

__all__ = [
    "Attachment",
    "Attempt",
    "ChatId",
    "ChatRequest",
    "Embeddings",
    "GenerationOptions",
    "Message",
    "OutputSpec",
    "Prompt",
    "Reasoning",
    "Reply",
    "Role",
    "StreamChunk",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallEvent",
    "ToolChoice",
    "ToolResult",
    "ToolResultEvent",
    "ToolSpec",
    "ToolStep",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]

#: How much a reasoning model thinks: a level, or a budget of thinking tokens.
#: "off" turns reasoning off where the model can; see `ModelInfo.reasoning_levels`.
Reasoning = Literal["off", "low", "medium", "high"] | int

#: Which tools the model may call: "auto" (it decides), "none", "required" (at
#: least one), or the name of the one tool it must call.
ToolChoice = str

#: A conversation's id: a Telegram chat id, a session key, anything stable.
ChatId = int | str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message: an image, a PDF, audio."""

    data: bytes = field(repr=False)
    mime_type: str
    name: str | None = None
    #: Where the provider can fetch the file instead (a signed URL after an upload);
    #: set by providers whose API takes documents by URL only.
    url: str | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.data)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A model's request to run one tool. `arguments` is the JSON text the model wrote.

    `signature` carries what a provider needs back with the call in the next
    request (Gemini's `thought_signature`, base64); `None` elsewhere.
    """

    id: str
    name: str
    arguments: str = "{}"
    signature: str | None = field(default=None, repr=False)

    def args(self) -> dict[str, Any]:
        """The arguments parsed; `ValueError` when they are not a JSON object."""
        value = json.loads(self.arguments or "{}")
        if not isinstance(value, dict):
            raise ValueError("the arguments are not a JSON object")
        return value


@dataclass(frozen=True, slots=True)
class ToolResult:
    """What running a `ToolCall` gave: its output as text, or the error's text."""

    call: ToolCall
    output: str
    is_error: bool = False
    duration_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class ToolStep:
    """One model turn that asked for tools, and what they answered.

    `text` and `reasoning` are what the model said alongside its calls; some
    providers need them back in the next request (DeepSeek's thinking mode).
    """

    calls: tuple[ToolCall, ...]
    results: tuple[ToolResult, ...] = ()
    text: str = ""
    reasoning: str | None = None


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """Streamed when the model has asked for a tool, its arguments whole, just before it
    runs (a UI can say "calling …")."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class ReasoningEvent:
    """Streamed as a reasoning model thinks, before (or between) its words: a piece of
    its thoughts, never mixed into the text (a UI can show "thinking…")."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """Streamed when a tool has run."""

    result: ToolResult


@dataclass(frozen=True, slots=True)
class Message:
    """One turn of a conversation.

    An assistant message may carry `tool_calls` (and the `reasoning` that led to
    them); a "tool" message answers the call `tool_call_id` of tool `name`.
    """

    role: Role
    content: str
    attachments: tuple[Attachment, ...] = ()
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None
    reasoning: str | None = None

    @classmethod
    def user(cls, text: str, attachments: Sequence[Attachment] = ()) -> Message:
        return cls("user", text, tuple(attachments))

    @classmethod
    def assistant(cls, text: str) -> Message:
        return cls("assistant", text)

    @classmethod
    def system(cls, text: str) -> Message:
        return cls("system", text)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as a provider is told about it: a name, what it does, a JSON schema."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """The JSON schema a structured reply must follow, as a provider is told it."""

    name: str
    schema: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling options common to the providers; `None` leaves the provider's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_mode: bool = False
    #: Reasoning effort or thinking-token budget, mapped to each provider's own
    #: setting; `None` leaves the model's default. A value the model cannot honour
    #: raises `BadRequestError` before anything is sent.
    reasoning: Reasoning | None = None

    def sampling(self) -> dict[str, float | int]:
        """The sampling settings given, under their usual wire names (`temperature`,
        `top_p`, `max_tokens`): what a request and its trace carry."""
        given = (
            ("temperature", self.temperature),
            ("top_p", self.top_p),
            ("max_tokens", self.max_tokens),
        )
        return {name: value for name, value in given if value is not None}


@dataclass(frozen=True, slots=True)
class Prompt:
    """One call of an app: what to ask, in which conversation, of which model.

    Built once by the keyword functions (`generate_reply`, `stream_reply`,
    `Hub.reply`, ...), which take every field, and handed on whole;
    `Hub.reply(prompt)` and `Hub.stream_reply(prompt)` take one built beforehand.
    """

    chat_id: ChatId
    text: str
    model: str | None = None
    user_id: int | None = None
    system: str | None = None
    attachments: tuple[Attachment, ...] = ()
    options: GenerationOptions | None = None
    #: The logged request's id. Give the same id when a call is tried again after a
    #: crash (e.g. derived from the message it answers): its rows are then replaced,
    #: not doubled. Default: a new random id.
    request_id: str | None = None
    #: Models to ask, in order, when the model's provider is unavailable (5xx,
    #: timeouts, refused connections, long rate limits). `None`: the configured
    #: chain (`LLMHUB_FALLBACKS`); `()`: none.
    fallbacks: tuple[str, ...] | None = None
    #: Regenerate: the id of an earlier exchange of this chat that this call answers
    #: again. That exchange is left out of this call's context, and once this call
    #: is answered it leaves the chat's context for good (the log keeps both).
    replaces: str | None = None
    #: Functions (or `Tool`s) the model may call. The hub runs the calls it asks
    #: for and sends the results back, until it answers (see `run_tools`).
    tools: tuple[Tool, ...] = ()
    #: "auto" (default when there are tools), "none", "required", or a tool's name.
    tool_choice: ToolChoice | None = None
    #: `False`: the model's tool calls are returned in `Reply.tool_calls`, not run.
    run_tools: bool = True
    #: How many rounds of tool calls the hub runs before it asks for a final answer.
    max_tool_steps: int = 8
    #: A structured reply: a pydantic model, a dataclass, or a JSON schema (a dict).
    #: `Reply.parsed` then holds the parsed object.
    output: Any = None
    #: `False`: no earlier turns of the chat are sent (the call is still logged).
    context: bool = True
    #: The conversation so far, given by the caller instead of read from the log.
    history: tuple[Message, ...] | None = None

    @classmethod
    def of(
        cls,
        chat_id: ChatId,
        text: str,
        model: str | None = None,
        *,
        user_id: int | None = None,
        system: str | None = None,
        attachments: Sequence[Attachment] = (),
        options: GenerationOptions | None = None,
        request_id: str | None = None,
        fallbacks: Sequence[str] | None = None,
        replaces: str | None = None,
        tools: Sequence[Any] = (),
        tool_choice: ToolChoice | None = None,
        run_tools: bool = True,
        max_tool_steps: int = 8,
        output: Any = None,
        context: bool = True,
        history: Sequence[Message] | None = None,
    ) -> Prompt:
        """A prompt from the keyword functions' arguments (lists become tuples,
        plain functions become `Tool`s)."""
        if tools:
            from ._tools import as_tool

            tools = tuple(as_tool(tool) for tool in tools)
        return cls(
            chat_id,
            text,
            model,
            user_id,
            system,
            tuple(attachments),
            options,
            request_id=request_id,
            fallbacks=None if fallbacks is None else tuple(fallbacks),
            replaces=replaces,
            tools=tuple(tools),
            tool_choice=tool_choice,
            run_tools=run_tools,
            max_tool_steps=max_tool_steps,
            output=output,
            context=context,
            history=None if history is None else tuple(history),
        )


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a provider is asked: a model, the messages, the options."""

    model: str
    messages: tuple[Message, ...]
    options: GenerationOptions = GenerationOptions()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: ToolChoice | None = None
    #: A structured reply: the schema the reply's JSON must follow.
    output: OutputSpec | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the provider reported them; `None` where it did not.

    `completion_tokens` includes `reasoning_tokens`, as providers bill them;
    `cached_tokens` are the part of `prompt_tokens` served from the provider's cache.
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


#: Why a model of the chain did not answer.
AttemptOutcome = Literal["unavailable", "timeout", "rate_limited", "circuit_open", "cannot_read"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """A model asked before the one that answered (or before the call failed), and why
    it did not answer. `request_id` names its logged rows."""

    provider: str
    model: str
    outcome: AttemptOutcome
    error: str
    request_id: str

    @property
    def skipped(self) -> bool:
        """Whether it was passed over without a request (circuit open, file unreadable)."""
        return self.outcome in ("circuit_open", "cannot_read")


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole answer. `reasoning` holds a reasoning model's thoughts, never mixed into `text`.

    `cost` is in USD, from the usage and the model's price (`None` when either is
    unknown). `model` and `provider` name the model that answered; `attempts` the
    models of the fallback chain tried before it, and why each did not answer.
    """

    text: str
    model: str
    provider: str
    finish_reason: str | None = None
    usage: Usage = Usage()
    reasoning: str | None = None
    cost: float | None = None
    attempts: tuple[Attempt, ...] = ()
    #: The logged exchange's id (its first request's, when another model answered):
    #: give it as `Prompt.replaces` to have this answer generated again.
    request_id: str | None = None
    #: Tool calls the model asks for and that were not run (`Prompt.run_tools=False`,
    #: or a provider's reply before the hub runs them).
    tool_calls: tuple[ToolCall, ...] = ()
    #: The rounds of tool calls the hub ran before this answer, in order.
    steps: tuple[ToolStep, ...] = ()
    #: The structured reply, parsed (`Prompt.output`); `None` otherwise.
    parsed: Any = None

    @property
    def fell_back(self) -> bool:
        """Whether another model than the one asked for answered."""
        return bool(self.attempts)


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """A piece of a streamed tool call: the calls arrive in pieces, `index` says
    which one; `id` and `name` come with its first piece, `arguments` in parts."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """One piece of a streamed answer. The last pieces carry `finish_reason` and `usage`."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    tool_calls: tuple[ToolCallDelta, ...] = ()


@dataclass(frozen=True, slots=True)
class Embeddings:
    """Vectors for texts, in the texts' order, with what they cost."""

    vectors: list[list[float]] = field(repr=False)
    model: str
    provider: str
    usage: Usage = Usage()
    cost: float | None = None
    #: The logged row's id.
    request_id: str | None = None

    def __len__(self) -> int:
        return len(self.vectors)
