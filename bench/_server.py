"""A loopback OpenAI-style server for the benchmarks, in its own process.

Minimal on purpose (no recording, no scripting): its own CPU is not what is
measured, and the less it does the less it disturbs the client on 2 cores.
`POST /v1/chat/completions` answers a fixed reply, or 20 SSE chunks when
`stream` is set; `GET /v1/models` lists two models. A request with `tools`
whose last message is not a tool's result is answered with a call of its first
tool, `{"city": "Paris"}` (then the fixed reply, once the result came); one with
a `response_format` JSON schema (or asking for JSON) with a fixed JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from aiohttp import web

REPLY = "The quick brown fox jumps over the lazy dog."
CHUNKS = 20
_USAGE = {"prompt_tokens": 12, "completion_tokens": 20, "total_tokens": 32}
_BODY = json.dumps(
    {
        "id": "b",
        "object": "chat.completion",
        "created": 0,
        "model": "mistral-small-latest",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": REPLY},
                "finish_reason": "stop",
            }
        ],
        "usage": _USAGE,
    }
).encode()


def _chunk(content: str, finish: str | None = None, usage: bool = False) -> bytes:
    body: dict[str, object] = {
        "id": "b",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "mistral-small-latest",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = _USAGE
    return b"data: " + json.dumps(body).encode() + b"\n\n"


_PIECES = [_chunk(f"w{i} ") for i in range(CHUNKS - 1)] + [
    _chunk("end", "stop", usage=True),
    b"data: [DONE]\n\n",
]


INTERVAL = 0.0  # seconds between two chunks of a stream (set by --interval)
STRUCTURED = {"city": "Paris", "country": "France", "population": 2102650}


def _message_body(message: dict[str, Any], finish: str) -> bytes:
    return json.dumps(
        {
            "id": "b",
            "object": "chat.completion",
            "created": 0,
            "model": "mistral-small-latest",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": _USAGE,
        }
    ).encode()


def _acting(payload: dict[str, Any]) -> bytes | None:
    """The answer to a tool or structured call, else `None`."""
    tools = payload.get("tools")
    messages = payload.get("messages") or [{}]
    if tools and messages[-1].get("role") != "tool":
        name = tools[0]["function"]["name"]
        function = {"name": name, "arguments": '{"city": "Paris"}'}
        call = {"id": "call00001", "type": "function", "function": function}
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        return _message_body(message, "tool_calls")
    if payload.get("response_format"):
        message = {"role": "assistant", "content": json.dumps(STRUCTURED)}
        return _message_body(message, "stop")
    return None


async def chat(request: web.Request) -> web.StreamResponse:
    payload = await request.json()
    if not payload.get("stream"):
        return web.Response(body=_acting(payload) or _BODY, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for i, piece in enumerate(_PIECES):  # one write per chunk, as a real server sends them
        if INTERVAL and i:
            await asyncio.sleep(INTERVAL)
        await response.write(piece)
    await response.write_eof()
    return response


async def models(_: web.Request) -> web.Response:
    return web.json_response(
        {"object": "list", "data": [{"id": "mistral-small-latest"}, {"id": "mistral-large-latest"}]}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between chunks")
    args = parser.parse_args()
    global INTERVAL
    INTERVAL = args.interval
    app = web.Application()
    for prefix in ("", "/v1"):
        app.router.add_post(f"{prefix}/chat/completions", chat)
        app.router.add_get(f"{prefix}/models", models)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, backlog=2048)


if __name__ == "__main__":
    main()
