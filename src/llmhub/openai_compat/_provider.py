"""One client for every API that speaks OpenAI's chat-completions dialect.

A plugin subclasses `OpenAICompatibleProvider` and declares only what is its
own: name, endpoint and key variables, paths, naming rule, `Dialect`.

The client: one aiohttp connection pool per provider instance. Whole replies,
listings and uploads go through an `httpx.AsyncClient` on httpx-aiohttp's
`AiohttpTransport` over that pool (httpx's API, aiohttp's pool: httpx on its own
httpcore pool costs several times the client CPU per request under
concurrency). Streams, the path of every bot reply, read the same pool's
aiohttp response directly, events parsed by `_sse` (half the CPU per event of
going through httpx and httpx-sse; the README's Performance section has the
figures). Retries are tenacity's (see `llmhub._retry`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from .._exceptions import (
    LLMHubError,
    ProviderTimeoutError,
    ProviderUnavailableError,
    ReplyTooLongError,
    StreamInterruptedError,
)
from .._provider import BaseProvider
from .._retry import with_retries
from .._types import ChatRequest, Embeddings, Reply, StreamChunk, Usage
from ._errors import error_from_status, message_from_body, scrub
from ._sse import iter_sse_data
from ._wire import Dialect, build_body, parse_chunk, parse_reply

if TYPE_CHECKING:
    import ssl

    import aiohttp
    import httpx

__all__ = ["OpenAICompatibleProvider"]

JSON = dict[str, Any]


@functools.cache
def user_agent() -> str:
    """`llmhub/<installed version>`: what every request says it comes from."""
    import llmhub

    return f"llmhub/{llmhub.__version__}"


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client in the process (httpx's defaults: certifi's
    CA bundle, `SSL_CERT_FILE`/`SSL_CERT_DIR` read once): making one loads the bundle,
    some 20 ms of CPU, which every provider's client paid each time a hub opened."""
    import httpx

    return httpx.create_ssl_context()


class OpenAICompatibleProvider(BaseProvider):
    """Base of providers on the OpenAI chat-completions API (Mistral, DeepSeek, …)."""

    default_endpoint: ClassVar[str]
    api_key_var: ClassVar[str]
    endpoint_var: ClassVar[str]
    models_path: ClassVar[str] = "/v1/models"
    chat_path: ClassVar[str] = "/v1/chat/completions"
    dialect: ClassVar[Dialect] = Dialect()
    max_connections: ClassVar[int] = 200
    #: `POST` path of the embeddings API (`{"model", "input": [...]}`); `None`: none.
    embeddings_path: ClassVar[str | None] = None
    #: The most texts, and characters together, one embeddings request takes.
    embed_batch_items: ClassVar[int] = 256
    embed_batch_chars: ClassVar[int | None] = None

    # The pool, the client on it and the URLs, made on first use.
    _client: httpx.AsyncClient | None = None
    _session: aiohttp.ClientSession | None = None
    _chat_url: httpx.URL | None = None
    _models_url: httpx.URL | None = None
    _stream_headers: dict[str, str] | None = None

    @property
    def endpoint(self) -> str:
        """The API's base URL (`<PROVIDER>_ENDPOINT`, else the public one)."""
        return (self.setting(self.endpoint_var) or self.default_endpoint).rstrip("/")

    def _key(self) -> str | None:
        secret = self.secret(self.api_key_var)
        return secret.reveal() if secret else None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            self.ensure_configured()
            import aiohttp
            import httpx
            from httpx_aiohttp import AiohttpTransport

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, keepalive_timeout=30.0),
                auto_decompress=False,
            )
            self._client = httpx.AsyncClient(
                base_url=self.endpoint,
                transport=AiohttpTransport(client=self._session, verify=_tls_context()),
                timeout=httpx.Timeout(
                    self.timeouts.read, connect=self.timeouts.connect, pool=self.timeouts.connect
                ),
                headers=self._headers("application/json"),
            )
            # Absolute URLs, parsed once: httpx would parse and merge a relative
            # path with base_url on every request (measurable per request).
            self._chat_url = httpx.URL(self.endpoint + self.chat_path)
            self._models_url = httpx.URL(self.endpoint + self.models_path)
            self._stream_headers = self._headers("text/event-stream") | {
                "Content-Type": "application/json"
            }
        return self._client

    def _headers(self, accept: str) -> dict[str, str]:
        """The headers of every request; no `Authorization` without a key (an API that
        needs none, e.g. a local server), never `Bearer None`."""
        headers = {"Accept": accept, "User-Agent": user_agent()}
        key = self._key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    async def aclose(self) -> None:
        client, self._client, self._session = self._client, None, None
        if client is not None:
            await client.aclose()  # closes the aiohttp pool under it too

    # -- listing -------------------------------------------------------------------

    async def list_models(self) -> list[str]:
        """`GET {models_path}`: the ids in `data`, deduplicated, in the API's order."""
        data = await with_retries(self.retry_policy, self._get_models)
        items = data.get("data") if isinstance(data, dict) else None
        ids = [
            item["id"]
            for item in items or []
            if isinstance(item, dict) and "id" in item and self.lists_for_chat(item)
        ]
        return list(dict.fromkeys(ids))

    def lists_for_chat(self, item: Mapping[str, Any]) -> bool:
        """Whether a `GET {models_path}` entry is a model this API chats with."""
        return True

    async def _get_models(self) -> JSON:
        client = self._http()
        try:
            response = await client.get(self._models_url or self.models_path)
            body = await response.aread()
        except Exception as exc:
            raise self._transport_error(exc, model=None) from exc
        return self._json_or_error(response, body, model=None)

    # -- generation ------------------------------------------------------------------

    async def generate(self, request: ChatRequest) -> Reply:
        """`POST {chat_path}` without streaming; the whole reply."""
        self.check_request(request)
        request = await self.prepare(request)
        body = build_body(request, self.dialect, stream=False)
        data = await with_retries(self.retry_policy, lambda: self._post_json(body, request.model))
        return parse_reply(data, provider=self.name, model=request.model)

    async def prepare(self, request: ChatRequest) -> ChatRequest:
        """The request as it will be sent; a provider that must upload files first
        (and send their URLs) does it here."""
        return request

    async def embed(self, model: str, texts: Sequence[str]) -> Embeddings:
        """`POST {embeddings_path}` per batch (within `embed_batch_*`); the vectors in
        the texts' order, the batches' usage added up."""
        if self.embeddings_path is None:
            return await super().embed(model, texts)
        url = self.endpoint + self.embeddings_path
        vectors: list[list[float]] = []
        tokens: int | None = None
        for batch in self.batches(texts, self.embed_batch_items, self.embed_batch_chars):
            body: JSON = {"model": model, "input": batch}
            data = await with_retries(
                self.retry_policy, partial(self._post_json, body, model, url=url)
            )
            items = data.get("data")
            if not isinstance(items, list) or len(items) != len(batch):
                raise ProviderUnavailableError(
                    f"the provider sent {len(items) if isinstance(items, list) else 'no'}"
                    f" vectors for {len(batch)} texts",
                    provider=self.name,
                    model=model,
                )
            ordered = sorted(items, key=lambda item: int(item.get("index", 0)))
            vectors += [[float(x) for x in item["embedding"]] for item in ordered]
            used = (data.get("usage") or {}).get("prompt_tokens")
            if isinstance(used, int):
                tokens = (tokens or 0) + used
        return Embeddings(
            vectors, model, self.name, Usage(prompt_tokens=tokens, total_tokens=tokens)
        )

    async def _post_json(self, body: JSON, model: str, *, url: str | None = None) -> JSON:
        client = self._http()
        limit = self.timeouts.max_reply_bytes
        try:
            async with asyncio.timeout(self.timeouts.total):
                request = client.build_request(
                    "POST", url or self._chat_url or self.chat_path, json=body
                )
                response = await client.send(request, stream=True)
                try:
                    raw = await _read_within(response, limit)
                finally:
                    await response.aclose()
        except LLMHubError:
            raise
        except Exception as exc:
            raise self._transport_error(exc, model=model) from exc
        if raw is None:
            raise ReplyTooLongError(
                f"the reply passed {limit:,} bytes (LLMHUB_MAX_REPLY_BYTES)",
                provider=self.name,
                model=model,
            )
        return self._json_or_error(response, raw, model=model)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamChunk]:
        """`POST {chat_path}` with `stream: true`; chunks as the SSE events arrive.

        Retried only until the response starts. `: keep-alive` comments are
        skipped; `data: [DONE]` ends the stream; a stream that stops without it
        raises `StreamInterruptedError` after what came.
        """
        self.check_request(request)
        request = await self.prepare(request)
        body = json.dumps(build_body(request, self.dialect, stream=True)).encode()
        deadline = time.monotonic() + self.timeouts.total
        response = await with_retries(
            self.retry_policy, lambda: self._open_stream(body, request.model, deadline)
        )
        # The silence between bytes and the whole call's deadline, however the server
        # sends (keep-alive comments and a byte at a time count as bytes, not progress).
        watchdog = _Watchdog(response, self.timeouts.read, deadline)
        finished = False
        received = 0
        try:
            try:
                async for data in iter_sse_data(response.content.iter_any()):
                    if data == b"[DONE]":
                        finished = True
                        break
                    if not data:
                        continue
                    received += len(data)
                    if received > self.timeouts.max_reply_bytes:
                        raise ReplyTooLongError(
                            f"the reply passed {self.timeouts.max_reply_bytes:,} bytes"
                            " (LLMHUB_MAX_REPLY_BYTES); what came before is kept",
                            provider=self.name,
                            model=request.model,
                        )
                    yield self._decode_event(data, request.model)
            except LLMHubError:
                raise
            except Exception as exc:
                if not watchdog.fired:
                    raise self._stream_error(exc, request.model) from exc
            if watchdog.expired:
                raise ProviderTimeoutError(
                    f"the stream took over {self.timeouts.total:g} s",
                    provider=self.name,
                    model=request.model,
                )
            if watchdog.fired:
                raise ProviderTimeoutError(
                    f"the stream went silent for over {self.timeouts.read:g} s",
                    provider=self.name,
                    model=request.model,
                )
            if not finished:
                raise StreamInterruptedError(
                    "the stream ended without its [DONE] marker",
                    provider=self.name,
                    model=request.model,
                )
        finally:
            watchdog.cancel()
            # Back to the pool if the body has ended (it usually has after [DONE]);
            # aiohttp closes a connection whose body was not read to the end.
            response.release()

    async def _open_stream(
        self, body: bytes, model: str, deadline: float
    ) -> aiohttp.ClientResponse:
        import aiohttp

        self._http()
        assert self._session is not None
        assert self._stream_headers is not None
        try:
            # The wait for the response's head is bounded here (by the silence allowed,
            # and what is left of the whole call's time); the body's by `_Watchdog`
            # (aiohttp's `sock_read` would re-arm a timer per read).
            head = min(self.timeouts.read, max(0.0, deadline - time.monotonic()))
            async with asyncio.timeout(head):
                response = await self._session.post(
                    str(self._chat_url),
                    data=body,
                    headers=self._stream_headers,
                    timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=self.timeouts.connect, sock_read=None
                    ),
                )
        except TimeoutError as exc:
            if head < self.timeouts.read:  # the call's own time ran out first
                raise ProviderTimeoutError(
                    f"the call took over {self.timeouts.total:g} s", provider=self.name, model=model
                ) from exc
            raise self._transport_error(TimeoutError(), model=model) from exc
        except Exception as exc:
            raise self._transport_error(exc, model=model) from exc
        if response.status >= 400:
            try:
                raw = await response.read()
            except Exception:
                raw = b""
            finally:
                response.release()
            raise self._status_error(response.status, response.headers, raw, model)
        return response

    def _decode_event(self, data: bytes, model: str) -> StreamChunk:
        try:
            payload = json.loads(data)
        except ValueError as exc:
            raise StreamInterruptedError(
                "the stream sent something that is not JSON: "
                f"{self.scrub(data[:80].decode(errors='replace'))!r}",
                provider=self.name,
                model=model,
            ) from exc
        if isinstance(payload, dict) and payload.get("error"):
            # An error reported inside a 200 stream (both APIs may do this when overloaded).
            raise ProviderUnavailableError(
                "the provider reported an error mid-stream: "
                f"{self.scrub(message_from_body(data.decode(errors='replace')))}",
                provider=self.name,
                model=model,
            )
        return parse_chunk(payload if isinstance(payload, dict) else {})

    # -- errors ------------------------------------------------------------------------------

    def _json_or_error(self, response: httpx.Response, raw: bytes, *, model: str | None) -> JSON:
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.headers, raw, model)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ProviderUnavailableError(
                f"the provider answered {response.status_code} with a body that is not JSON",
                provider=self.name,
                model=model,
            ) from exc
        if not isinstance(data, dict):
            raise ProviderUnavailableError(
                "the provider answered with JSON that is not an object",
                provider=self.name,
                model=model,
            )
        return data

    def _status_error(
        self, status: int, headers: Mapping[str, str], raw: bytes, model: str | None
    ) -> LLMHubError:
        return error_from_status(
            status,
            raw.decode("utf-8", "replace"),
            headers,
            provider=self.name,
            model=model,
            secret=self._key(),
        )

    def _transport_error(self, exc: Exception, *, model: str | None) -> LLMHubError:
        """A failure before any response: timeouts, refused or dropped connections
        (from httpx, or from aiohttp on the streaming path)."""
        import aiohttp
        import httpx

        if isinstance(exc, LLMHubError):
            return exc
        detail = scrub(str(exc), self._key()) or type(exc).__name__
        if isinstance(
            exc, httpx.ConnectError | httpx.ConnectTimeout | aiohttp.ClientConnectorError
        ):
            return ProviderUnavailableError(
                f"cannot connect to {self.endpoint}: {detail}", provider=self.name, model=model
            )
        if isinstance(exc, httpx.TimeoutException | TimeoutError):  # aiohttp's too
            return ProviderTimeoutError(
                f"no answer in time ({type(exc).__name__})", provider=self.name, model=model
            )
        if isinstance(exc, httpx.HTTPError | aiohttp.ClientError | OSError):
            return ProviderUnavailableError(
                f"connection failed: {type(exc).__name__}: {detail}",
                provider=self.name,
                model=model,
            )
        return ProviderUnavailableError(
            f"unexpected {type(exc).__name__} talking to the provider",
            provider=self.name,
            model=model,
        )

    def _stream_error(self, exc: Exception, model: str) -> LLMHubError:
        """A failure after the stream started: the connection broke or went silent."""
        if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError is one
            return ProviderTimeoutError(
                f"the stream went silent for over {self.timeouts.read:g} s",
                provider=self.name,
                model=model,
            )
        return StreamInterruptedError(
            f"the stream broke off: {type(exc).__name__}", provider=self.name, model=model
        )


async def _read_within(response: httpx.Response, limit: int) -> bytes | None:
    """The body, or `None` once it passes `limit` bytes (not read further)."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    parts: list[bytes] = []
    size = 0
    async for part in response.aiter_bytes():  # decoded: the size that takes memory
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


class _Watchdog:
    """Closes a streamed response that has sent nothing for `silence` seconds, or that
    is still going at `deadline` (a `time.monotonic()` time).

    It looks at the bytes received a few times per `silence` (keep-alive
    comments count), instead of re-arming a timer on every read as aiohttp's
    `sock_read` does: a timer per chunk was a measurable share of a stream's
    CPU. A silence is noticed between `silence` and 1.25 times `silence`; the
    deadline within a quarter of `silence` (the checks are that far apart).
    """

    __slots__ = (
        "_deadline",
        "_handle",
        "_heard",
        "_loop",
        "_offset",
        "_response",
        "_seen",
        "_silence",
        "expired",
        "fired",
    )

    def __init__(self, response: aiohttp.ClientResponse, silence: float, deadline: float) -> None:
        self._response = response
        self._silence = silence
        self._loop = asyncio.get_running_loop()
        # The loop's clock and time.monotonic() may differ: the deadline in the loop's.
        self._offset = self._loop.time() - time.monotonic()
        self._deadline = deadline + self._offset
        self._seen = response.content.total_bytes
        self._heard = self._loop.time()
        self.fired = False
        self.expired = False
        self._handle = self._loop.call_later(self._next_check(), self._check)

    def _next_check(self) -> float:
        return max(0.0, min(self._silence / 4, self._deadline - self._loop.time()))

    def _check(self) -> None:
        now = self._loop.time()
        received = self._response.content.total_bytes
        if now >= self._deadline:
            self.expired = self.fired = True
            self._response.close()
            return
        if received != self._seen:
            self._seen, self._heard = received, now
        elif now - self._heard >= self._silence:
            self.fired = True
            self._response.close()  # the reader wakes up and the stream ends
            return
        self._handle = self._loop.call_later(self._next_check(), self._check)

    def cancel(self) -> None:
        self._handle.cancel()
