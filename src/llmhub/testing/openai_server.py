"""A local server speaking the OpenAI chat-completions wire format (JSON and SSE).

Mistral's and DeepSeek's paths both work (`/v1/...` and bare). By default it
answers "echo: <last user message>"; a test queues `Behaviour`s to script the
next requests (error statuses, keep-alive comments, reasoning, a stream cut
mid-way, a server that never answers). It records what it received.

Run it by hand to try llmhub offline:

    python -m llmhub.testing.openai_server --port 8089
    MISTRAL_API_KEY=x MISTRAL_ENDPOINT=http://127.0.0.1:8089 llmhub chat -m mistral-small-latest "hi"
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MODELS = ["mistral-small-latest", "mistral-large-latest", "deepseek-chat", "deepseek-reasoner"]


@dataclass
class Behaviour:
    """How to answer one request."""

    status: int = 200
    #: JSON (or str) sent as it is: an error status's body, a whole model listing,
    #: or a whole (non-streamed) completion captured from a real service.
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None  # the reply; default "echo: <prompt>"
    finish: str = "stop"  # the finish reason ("length": cut by the output limit)
    reasoning: str | None = None  # sent as reasoning_content first
    keepalive: int = 0  # ": keep-alive" comments before the first chunk
    #: stream: a ": keep-alive" comment every this many seconds, never an event (until
    #: `release()`): a server that keeps the connection busy and never answers
    drip: float | None = None
    cut_after: int | None = None  # stream: drop the connection after N chunks
    no_done: bool = False  # stream: end cleanly but without [DONE]
    hang: bool = False  # never answer (until `release()`)
    hang_after: int | None = None  # stream: send N chunks, then hold until `release()`
    error_event: bool = False  # stream: an {"error": …} event after the first chunk
    #: stream: these bytes sent as they are instead of the made-up reply (events
    #: written by hand, or a stream captured from a real service)
    sse: bytes | None = None
    #: Ask for tools instead of answering: `{"name": …, "arguments": {…}}` each (an
    #: "id" may be given). Streamed as OpenAI-style deltas, the arguments in pieces.
    tool_calls: list[dict[str, Any]] | None = None


class FakeOpenAIServer:
    """`async with FakeOpenAIServer() as server:` then `server.url`."""

    def __init__(self, *, api_key: str | None = None, port: int = 0) -> None:
        self.api_key = api_key
        self.port = port
        self.queue: deque[Behaviour] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        #: What `GET /models` lists (a test may change it between calls).
        self.models: list[str] = list(MODELS)
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()
        #: While set, every stream holds after its first piece until `resume()`.
        self.holding = False
        #: Streams under way, and how many of them are held now.
        self.streaming = 0
        self.held = 0
        #: Files uploaded (`POST /v1/files`): purpose, file name, content type, bytes.
        self.uploads: list[dict[str, Any]] = []
        #: The last user message of every stream sent to its end, in order.
        self.completed: list[str] = []
        self._resume = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def release(self) -> None:
        """Let requests held by `Behaviour(hang=True)` go on (and stop holding new ones)."""
        self._release.set()

    def hold(self) -> None:
        """Hold every stream after its first piece (those under way, and new ones)."""
        self._resume.clear()
        self.holding = True

    def resume(self) -> None:
        """Let held streams go on."""
        self.holding = False
        self._resume.set()

    def then(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests (then back to the default)."""
        self.queue.extend(behaviours)

    async def __aenter__(self) -> FakeOpenAIServer:
        app = web.Application()
        for prefix in ("", "/v1"):
            app.router.add_get(f"{prefix}/models", self._models)
            app.router.add_post(f"{prefix}/chat/completions", self._chat)
            app.router.add_post(f"{prefix}/embeddings", self._embeddings)
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{file_id}/url", self._signed_url)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- handlers -------------------------------------------------------------------

    def _next(self) -> Behaviour:
        return self.queue.popleft() if self.queue else Behaviour()

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.api_key and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response(
                {"error": {"message": "Incorrect API key provided", "type": "auth"}}, status=401
            )
        return None

    async def _models(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(dict(request.headers))
        refused = self._refused(request)
        if refused is not None:
            return refused
        behaviour = self._next()
        if behaviour.status != 200:
            return self._error(behaviour)
        if behaviour.body is not None:  # a listing as the real service sent it
            text = behaviour.body if isinstance(behaviour.body, str) else json.dumps(behaviour.body)
            return web.Response(text=text, content_type="application/json")
        data = [
            {"id": m, "object": "model"} for m in [*self.models, *self.models[:1]]
        ]  # one duplicate
        return web.json_response({"object": "list", "data": data})

    async def _upload(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        file_id = f"file-{len(self.uploads) + 1}"
        self.uploads.append(
            {
                "id": file_id,
                "purpose": form.get("purpose"),
                "filename": upload.filename,
                "content_type": upload.content_type,
                "data": upload.file.read(),
            }
        )
        return web.json_response({"id": file_id, "object": "file", "purpose": form.get("purpose")})

    async def _signed_url(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        file_id = request.match_info["file_id"]
        expiry = request.query.get("expiry", "")
        return web.json_response({"url": f"{self.url}/signed/{file_id}?expiry={expiry}"})

    async def _take(self, request: web.Request) -> tuple[dict[str, Any], Behaviour] | web.Response:
        """A POST's JSON body and how to answer it (recorded), or the refusal of its key."""
        self.headers.append(dict(request.headers))
        refused = self._refused(request)
        if refused is not None:
            return refused
        payload = await request.json()
        self.requests.append(payload)
        return payload, self._next()

    async def _embeddings(self, request: web.Request) -> web.Response:
        """Vectors of 4 numbers made from each text (its length and first letters), in
        reversed order with their `index`, as the API may send them."""
        taken = await self._take(request)
        if isinstance(taken, web.Response):
            return taken
        payload, behaviour = taken
        if behaviour.status != 200:
            return self._error(behaviour)
        inputs = payload.get("input") or []
        data = [
            {"object": "embedding", "index": n, "embedding": _vector(text)}
            for n, text in enumerate(inputs)
        ]
        tokens = sum(len(str(text).split()) for text in inputs)
        return web.json_response(
            {
                "object": "list",
                "model": payload.get("model"),
                "data": list(reversed(data)),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    def _error(self, behaviour: Behaviour) -> web.Response:
        body = behaviour.body if behaviour.body is not None else {"error": {"message": "failed"}}
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(
            status=behaviour.status,
            text=text,
            headers=behaviour.headers,
            content_type="application/json",
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        taken = await self._take(request)
        if isinstance(taken, web.Response):
            return taken
        payload, behaviour = taken
        if behaviour.hang:
            await self._release.wait()
        if behaviour.status != 200:
            return self._error(behaviour)
        if behaviour.body is not None and not payload.get("stream"):
            raw = behaviour.body if isinstance(behaviour.body, str) else json.dumps(behaviour.body)
            return web.Response(text=raw, content_type="application/json")
        prompt = _last_user_text(payload.get("messages", []))
        default = "" if behaviour.tool_calls else f"echo: {prompt}"
        text = behaviour.text if behaviour.text is not None else default
        usage = {
            "prompt_tokens": len(prompt.split()),
            "completion_tokens": len(text.split()),
            "total_tokens": len(prompt.split()) + len(text.split()),
            "prompt_cache_hit_tokens": 0,
        }
        calls = _tool_calls(behaviour)
        finish = "tool_calls" if calls else behaviour.finish
        if not payload.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if behaviour.reasoning:
                message["reasoning_content"] = behaviour.reasoning
            if calls:
                message["tool_calls"] = calls
            return web.json_response(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "model": payload.get("model"),
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            )
        self.streaming += 1
        try:
            return await self._stream(request, payload, behaviour, text, usage)
        finally:
            self.streaming -= 1

    async def _stream(
        self,
        request: web.Request,
        payload: dict[str, Any],
        behaviour: Behaviour,
        text: str,
        usage: dict[str, Any],
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        if behaviour.sse is not None:
            await response.write(behaviour.sse)
            await response.write_eof()
            return response
        for _ in range(behaviour.keepalive):
            await response.write(b": keep-alive\n\n")
        if behaviour.drip is not None:
            while not self._release.is_set():
                await response.write(b": keep-alive\n\n")
                await asyncio.sleep(behaviour.drip)
            return response

        def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            chunk = {
                "id": "cmpl-1",
                "object": "chat.completion.chunk",
                "model": payload.get("model"),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(chunk)}\n\n".encode()

        # DeepSeek (asked with include_usage) sends usage in a chunk of its own with
        # no choices; Mistral puts it in the finishing chunk.
        separate_usage = bool(payload.get("stream_options", {}).get("include_usage"))
        if behaviour.reasoning:
            await response.write(
                event({"role": "assistant", "reasoning_content": behaviour.reasoning})
            )
        words = text.split(" ") if text else []
        for i, word in enumerate(words):
            if behaviour.cut_after is not None and i >= behaviour.cut_after:
                assert request.transport is not None
                request.transport.close()  # drop the connection mid-stream
                return response
            if behaviour.hang_after is not None and i == behaviour.hang_after:
                await self._release.wait()
            if i == 1 and self.holding:
                self.held += 1
                try:
                    await self._resume.wait()
                finally:
                    self.held -= 1
            if behaviour.error_event and i == 1:
                await response.write(b'data: {"error": {"message": "overloaded"}}\n\n')
                return response
            await response.write(event({"content": word if i == 0 else " " + word}))
        for index, call in enumerate(_tool_calls(behaviour)):
            # As DeepSeek streams them: id and name first, then the arguments in pieces.
            head = {"index": index, "id": call["id"], "type": "function"}
            head["function"] = {"name": call["function"]["name"], "arguments": ""}
            await response.write(event({"tool_calls": [head]}))
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 5):
                piece = {
                    "index": index,
                    "function": {"arguments": arguments[start : start + 5]},
                }
                await response.write(event({"tool_calls": [piece]}))
        finish = "tool_calls" if behaviour.tool_calls else behaviour.finish
        if separate_usage:
            await response.write(event({"content": ""}, finish=finish))
            final = {"id": "cmpl-1", "choices": [], "usage": usage}
            await response.write(f"data: {json.dumps(final)}\n\n".encode())
        else:
            await response.write(event({"content": ""}, finish=finish, usage=usage))
        if not behaviour.no_done:
            await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        self.completed.append(_last_user_text(payload.get("messages", [])))
        return response


def _vector(text: str) -> list[float]:
    """A made-up embedding that tells texts apart: length, then the first three letters."""
    return [float(len(text)), *(float(ord(c)) for c in (text + "   ")[:3])]


def _tool_calls(behaviour: Behaviour) -> list[dict[str, Any]]:
    """The behaviour's tool calls in the wire's shape."""
    return [
        {
            "id": call.get("id", f"call_{n}"),
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
        }
        for n, call in enumerate(behaviour.tool_calls or ())
    ]


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
            return str(content)
    return ""


async def _serve(port: int, api_key: str | None) -> None:
    async with FakeOpenAIServer(api_key=api_key, port=port) as server:
        print(f"fake OpenAI-style server on {server.url}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--api-key", default=None, help="require this Bearer key")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.api_key))


if __name__ == "__main__":
    main()
