"""The rows the store keeps, as values."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from .._types import ToolStep

__all__ = [
    "ContextInfo",
    "EmbeddingRecord",
    "Exchange",
    "ProviderStats",
    "RequestRecord",
    "ResponseRecord",
    "ResponseStatus",
    "Turn",
    "turns_within",
]

ResponseStatus = Literal["ok", "error", "cancelled"]


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """A request, logged before it is sent."""

    id: str
    chat_id: str
    provider: str
    model: str
    prompt: str
    created_at: float
    user_id: int | None = None
    context_turns: int = 0
    #: Set on a fallback attempt: the id of the request it stands in for.
    first_request_id: str | None = None
    #: Set when this request answers an earlier one again (regenerate): that
    #: exchange's id. Once this one is answered, the earlier one leaves the context.
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """The outcome of a request: the reply, or what arrived and the error."""

    request_id: str
    status: ResponseStatus
    text: str
    created_at: float
    latency_ms: float
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    #: USD, from the usage and the model's price; `None` when either is unknown.
    cost_usd: float | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a chat, sent again as context."""

    prompt: str
    reply: str
    #: The exchange's id: its first request's (a fallback's answer carries the first's).
    request_id: str = ""
    #: Whether the exchange ran tools (its rounds are in `tool_calls`).
    has_tools: bool = False
    #: The rounds of tool calls before the reply, once read (`Store.tool_steps`).
    steps: tuple[ToolStep, ...] = ()


@dataclass(frozen=True, slots=True)
class EmbeddingRecord:
    """One embedding call: how many texts, what it used and cost, or its error."""

    id: str
    provider: str
    model: str
    inputs: int
    chars: int
    status: ResponseStatus
    created_at: float
    latency_ms: float
    user_id: int | None = None
    prompt_tokens: int | None = None
    cost_usd: float | None = None
    error_type: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """What the next request of a chat will carry."""

    turns: int
    chars: int
    #: Whether earlier turns of the conversation are left out (past the turn or
    #: character limits of the context).
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request joined with its response, for `llmhub logs`."""

    request_id: str
    chat_id: str
    provider: str
    model: str
    prompt: str
    created_at: float
    status: str | None
    text: str | None
    latency_ms: float | None
    total_tokens: int | None
    error_type: str | None
    cost_usd: float | None = None
    first_request_id: str | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderStats:
    """Totals of one provider over a period."""

    provider: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    #: USD over the priced responses; `None` when none had a known price.
    cost_usd: float | None = None


def turns_within(
    newest_first: Iterable[tuple[str, str, str, bool]],
    max_chars: int,
    max_turns: int,
    exclude: Collection[str] = (),
) -> list[Turn]:
    """The newest (prompt, reply, id, has tools) rows that fit in `max_turns` and
    `max_chars` together, but the exchanges `exclude`, oldest first."""
    kept: list[Turn] = []
    used = 0
    for prompt, reply, request_id, has_tools in newest_first:
        if request_id in exclude:
            continue
        used += len(prompt) + len(reply)
        if used > max_chars or len(kept) == max_turns:
            break
        kept.append(Turn(prompt, reply, request_id, bool(has_tools)))
    kept.reverse()
    return kept
