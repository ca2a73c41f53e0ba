"""The OpenAI chat-completions wire format: request bodies out, replies and chunks in.

Pure functions over dicts, shared by every OpenAI-style provider. What differs
between providers (the seed's field name, `stream_options`) comes in as `Dialect`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from .._types import Attachment, ChatRequest, Message, Reply, StreamChunk, Usage

__all__ = ["Dialect", "build_body", "parse_chunk", "parse_reply", "parse_usage"]

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one provider's flavour of the API accepts.

    `seed_field`: the name of the sampling seed (`seed`, Mistral's `random_seed`),
    or `None` where the API has none (the option is then not sent).
    `stream_usage`: send `stream_options.include_usage` to get usage in a final
    chunk (Mistral sends usage unasked and answers 422 to the field).
    """

    seed_field: str | None = "seed"
    stream_usage: bool = True


def _part(attachment: Attachment) -> JSON:
    """One content part: an image as a data URL; audio as base64 (`input_audio`, the
    shape Mistral's Voxtral models take); a document by its URL (`document_url`)."""
    encoded = base64.b64encode(attachment.data).decode("ascii")
    if attachment.mime_type.startswith("audio/"):
        return {"type": "input_audio", "input_audio": encoded}
    if attachment.url is not None:
        part: JSON = {"type": "document_url", "document_url": attachment.url}
        if attachment.name:
            part["document_name"] = attachment.name
        return part
    return {
        "type": "image_url",
        "image_url": {"url": f"data:{attachment.mime_type};base64,{encoded}"},
    }


def _content(message: Message) -> str | list[JSON]:
    if not message.attachments:
        return message.content
    parts: list[JSON] = []
    if message.content:
        parts.append({"type": "text", "text": message.content})
    parts += [_part(attachment) for attachment in message.attachments]
    return parts


def build_body(request: ChatRequest, dialect: Dialect, *, stream: bool) -> JSON:
    """The JSON body of `POST …/chat/completions`; unset options are left out."""
    body: JSON = {
        "model": request.model,
        "messages": [{"role": m.role, "content": _content(m)} for m in request.messages],
    }
    options = request.options
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.top_p is not None:
        body["top_p"] = options.top_p
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.stop:
        body["stop"] = list(options.stop)
    if options.seed is not None and dialect.seed_field:
        body[dialect.seed_field] = options.seed
    if options.json_mode:
        body["response_format"] = {"type": "json_object"}
    if stream:
        body["stream"] = True
        if dialect.stream_usage:
            body["stream_options"] = {"include_usage": True}
    return body


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) else None


def parse_usage(raw: Any) -> Usage | None:
    """Token counts, including DeepSeek's cache hits and reasoning tokens."""
    if not isinstance(raw, dict):
        return None
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    cached = raw.get("prompt_cache_hit_tokens", prompt_details.get("cached_tokens"))
    return Usage(
        prompt_tokens=_int(raw.get("prompt_tokens")),
        completion_tokens=_int(raw.get("completion_tokens")),
        total_tokens=_int(raw.get("total_tokens")),
        cached_tokens=_int(cached),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
    )


def _split_content(content: Any) -> tuple[str, str]:
    """(answer, reasoning) from `content` that is a string or a list of typed parts."""
    if content is None:
        return "", ""
    if isinstance(content, str):
        return content, ""
    text: list[str] = []
    thinking: list[str] = []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif part.get("type") == "thinking":
                inner = part.get("thinking")
                if isinstance(inner, list):
                    thinking.append(_split_content(inner)[0])
                elif isinstance(inner, str):
                    thinking.append(inner)
    return "".join(text), "".join(thinking)


def parse_reply(data: JSON, *, provider: str, model: str) -> Reply:
    """A whole reply from a non-streamed response body."""
    choices = data.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    text, thinking = _split_content(message.get("content"))
    reasoning = message.get("reasoning_content")
    reasoning = (reasoning if isinstance(reasoning, str) else "") + thinking
    return Reply(
        text=text,
        model=str(data.get("model") or model),
        provider=provider,
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(data.get("usage")) or Usage(),
        reasoning=reasoning or None,
    )


def parse_chunk(data: JSON) -> StreamChunk:
    """One SSE event's JSON; a final chunk may have no choices and only usage."""
    choices = data.get("choices") or []
    if len(choices) == 1 and "usage" not in data:
        # The common chunk, taken in few steps: it comes 20 to 1,000 times a reply.
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and "reasoning_content" not in delta:
            content = delta.get("content")
            if content is None or isinstance(content, str):
                return StreamChunk(text=content or "", finish_reason=choice.get("finish_reason"))
    usage = parse_usage(data.get("usage"))
    if not choices or not isinstance(choices[0], dict):
        return StreamChunk(usage=usage)
    choice = choices[0]
    delta = choice.get("delta") or {}
    text, thinking = _split_content(delta.get("content"))
    reasoning = delta.get("reasoning_content")
    reasoning = (reasoning if isinstance(reasoning, str) else "") + thinking
    return StreamChunk(
        text=text, reasoning=reasoning, finish_reason=choice.get("finish_reason"), usage=usage
    )
