"""The OpenAI chat-completions wire format: request bodies out, replies and chunks in.

Pure functions over dicts, shared by every OpenAI-style provider. What differs
between providers (the seed's field name, `stream_options`, how reasoning and
structured replies are asked for, tool call ids) comes in as `Dialect`.

Tools go out as `tools: [{"type": "function", "function": {name, description,
parameters}}]` with `tool_choice` ("auto", "none", "required" or
`{"type": "function", "function": {"name"}}`); the model's calls come back in
`message.tool_calls` (streamed: `delta.tool_calls` pieces by `index`, the
arguments in fragments), and their results go back as `role: "tool"` messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from .._output import schema_instruction
from .._types import (
    Attachment,
    ChatRequest,
    Message,
    OutputSpec,
    Reply,
    StreamChunk,
    ToolCall,
    ToolCallDelta,
    Usage,
)

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
    #: How `GenerationOptions.reasoning` is sent: Mistral's `reasoning_effort`
    #: ("none"/"high"), or DeepSeek's `thinking: {type}` with `reasoning_effort`.
    reasoning: Literal["effort", "thinking"] = "effort"
    #: How a structured reply is asked for: `response_format: json_schema`, or
    #: JSON mode with the schema in a system message (DeepSeek has only JSON mode).
    structured: Literal["json_schema", "instructions"] = "json_schema"
    #: Tool call ids rewritten to 9 letters and digits (Mistral refuses others, and
    #: a chat's earlier turns may carry another provider's ids).
    short_tool_ids: bool = False
    #: An assistant message with tool calls carries its `reasoning_content` back
    #: (DeepSeek's thinking mode answers 400 without it inside a tool loop).
    reasoning_in_tool_turns: bool = False


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


def short_tool_id(call_id: str) -> str:
    """A stable 9-character id of letters and digits for any tool call id."""
    if len(call_id) == 9 and call_id.isascii() and call_id.isalnum():
        return call_id
    digest = hashlib.sha256(call_id.encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:9])


def _message(message: Message, dialect: Dialect) -> JSON:
    ids = short_tool_id if dialect.short_tool_ids else str
    if message.role == "tool":
        return {
            "role": "tool",
            "tool_call_id": ids(message.tool_call_id or ""),
            "name": message.name or "",
            "content": message.content,
        }
    out: JSON = {"role": message.role, "content": _content(message)}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": ids(call.id),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
        if dialect.reasoning_in_tool_turns and message.reasoning:
            out["reasoning_content"] = message.reasoning
    return out


def _tool_choice(choice: str) -> Any:
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _reasoning(value: str | int, dialect: Dialect) -> JSON:
    """The fields that set the reasoning effort (levels the catalogue allowed)."""
    if dialect.reasoning == "thinking":
        if value == "off":
            return {"thinking": {"type": "disabled"}}
        return {"thinking": {"type": "enabled"}, "reasoning_effort": value}
    return {"reasoning_effort": "none" if value == "off" else value}


def _strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object, as strict
    schema mode requires."""
    if isinstance(schema, dict):
        out = {key: _strict(value) for key, value in schema.items()}
        if out.get("type") == "object" and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


def _response_format(spec: OutputSpec, dialect: Dialect) -> JSON:
    if dialect.structured == "instructions":
        return {"type": "json_object"}
    return {
        "type": "json_schema",
        "json_schema": {"name": spec.name, "schema": _strict(spec.schema), "strict": True},
    }


def build_body(request: ChatRequest, dialect: Dialect, *, stream: bool) -> JSON:
    """The JSON body of `POST …/chat/completions`; unset options are left out."""
    messages = [_message(m, dialect) for m in request.messages]
    if request.output is not None and dialect.structured == "instructions":
        messages.insert(0, {"role": "system", "content": schema_instruction(request.output)})
    body: JSON = {"model": request.model, "messages": messages}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.parameters),
                },
            }
            for tool in request.tools
        ]
        if request.tool_choice is not None:
            body["tool_choice"] = _tool_choice(request.tool_choice)
    options = request.options
    body.update(options.sampling())
    if options.stop:
        body["stop"] = list(options.stop)
    if options.seed is not None and dialect.seed_field:
        body[dialect.seed_field] = options.seed
    if request.output is not None:
        body["response_format"] = _response_format(request.output, dialect)
    elif options.json_mode:
        body["response_format"] = {"type": "json_object"}
    if options.reasoning is not None:
        body.update(_reasoning(options.reasoning, dialect))
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
    # DeepSeek: prompt_cache_hit_tokens; Mistral: num_cached_tokens (older) or the
    # OpenAI-style prompt_tokens_details.cached_tokens.
    cached = raw.get("prompt_cache_hit_tokens")
    if cached is None:
        cached = raw.get("num_cached_tokens", prompt_details.get("cached_tokens"))
    return Usage(
        prompt_tokens=_int(raw.get("prompt_tokens")),
        completion_tokens=_int(raw.get("completion_tokens")),
        total_tokens=_int(raw.get("total_tokens")),
        cached_tokens=_int(cached),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
    )


def _text_and_reasoning(part: JSON) -> tuple[str, str]:
    """A message's (or a stream delta's) text, and its reasoning: DeepSeek's
    `reasoning_content`, then Magistral's thinking chunks inside `content`."""
    text, thinking = _split_content(part.get("content"))
    reasoning = part.get("reasoning_content")
    return text, (reasoning if isinstance(reasoning, str) else "") + thinking


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
    text, reasoning = _text_and_reasoning(message)
    return Reply(
        text=text,
        model=str(data.get("model") or model),
        provider=provider,
        finish_reason=choice.get("finish_reason"),
        usage=parse_usage(data.get("usage")) or Usage(),
        reasoning=reasoning or None,
        tool_calls=_tool_calls(message.get("tool_calls")),
    )


def _arguments(raw: Any) -> str:
    """A call's arguments as JSON text (Mistral may send an object instead)."""
    if isinstance(raw, str):
        return raw
    return json.dumps(raw if raw is not None else {}, ensure_ascii=False)


def _tool_calls(raw: Any) -> tuple[ToolCall, ...]:
    if not isinstance(raw, list):
        return ()
    calls = []
    for position, item in enumerate(raw):
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            continue
        call_id = item.get("id") if isinstance(item.get("id"), str) else f"call_{position}"
        calls.append(ToolCall(call_id, function["name"], _arguments(function.get("arguments"))))
    return tuple(calls)


def _tool_call_deltas(raw: Any) -> tuple[ToolCallDelta, ...]:
    if not isinstance(raw, list):
        return ()
    deltas = []
    for position, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        raw_function = item.get("function")
        function: JSON = raw_function if isinstance(raw_function, dict) else {}
        index = item.get("index")
        name = function.get("name")
        arguments = function.get("arguments")
        deltas.append(
            ToolCallDelta(
                index=index if isinstance(index, int) else position,
                id=item.get("id") if isinstance(item.get("id"), str) else None,
                name=name if isinstance(name, str) and name else None,
                arguments="" if arguments is None else _arguments(arguments),
            )
        )
    return tuple(deltas)


def parse_chunk(data: JSON) -> StreamChunk:
    """One SSE event's JSON; a final chunk may have no choices and only usage."""
    choices = data.get("choices") or []
    if len(choices) == 1 and "usage" not in data:
        # The common chunk, taken in few steps: it comes 20 to 1,000 times a reply.
        choice = choices[0]
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if (
            isinstance(delta, dict)
            and "reasoning_content" not in delta
            and "tool_calls" not in delta
        ):
            content = delta.get("content")
            if content is None or isinstance(content, str):
                return StreamChunk(text=content or "", finish_reason=choice.get("finish_reason"))
    usage = parse_usage(data.get("usage"))
    if not choices or not isinstance(choices[0], dict):
        return StreamChunk(usage=usage)
    choice = choices[0]
    delta = choice.get("delta") or {}
    text, reasoning = _text_and_reasoning(delta)
    return StreamChunk(
        text=text,
        reasoning=reasoning,
        finish_reason=choice.get("finish_reason"),
        usage=usage,
        tool_calls=_tool_call_deltas(delta.get("tool_calls")),
    )
