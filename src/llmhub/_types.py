"""The provider-neutral values that cross the provider boundary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Attachment",
    "Attempt",
    "ChatId",
    "ChatRequest",
    "GenerationOptions",
    "Message",
    "Prompt",
    "Reply",
    "Role",
    "StreamChunk",
    "Usage",
]

Role = Literal["system", "user", "assistant"]

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
class Message:
    """One turn of a conversation."""

    role: Role
    content: str
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling options common to the providers; `None` leaves the provider's default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    json_mode: bool = False


@dataclass(frozen=True, slots=True)
class Prompt:
    """One call of an app: what to ask, in which conversation, of which model.

    Built once by the friendly keyword functions (`generate_reply`,
    `stream_reply`, `Hub.reply`, ...) and handed on whole; `Hub.ask` and
    `Hub.stream` take it directly.
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
        fallbacks: Sequence[str] | None = None,
    ) -> Prompt:
        """A prompt from the keyword functions' arguments (lists become tuples)."""
        chain = None if fallbacks is None else tuple(fallbacks)
        return cls(
            chat_id, text, model, user_id, system, tuple(attachments), options, fallbacks=chain
        )


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a provider is asked: a model, the messages, the options."""

    model: str
    messages: tuple[Message, ...]
    options: GenerationOptions = GenerationOptions()


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

    @property
    def fell_back(self) -> bool:
        """Whether another model than the one asked for answered."""
        return bool(self.attempts)


@dataclass(frozen=True, slots=True)
class StreamChunk:
    """One piece of a streamed answer. The last pieces carry `finish_reason` and `usage`."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
