"""A FastAPI service over llmhub: each worker process opens one hub for its life,
and every worker logs to one PostgreSQL database, so a conversation goes on
whichever worker a request reaches (its context is read from the log).

    pip install "aiollmhub[mistral,postgres]" fastapi uvicorn
    export MISTRAL_API_KEY=... LLMHUB_DATABASE_URL=postgresql://localhost/llmhub
    uvicorn examples.fastapi_app:app --workers 4

    curl -s localhost:8000/chats/7 -H 'content-type: application/json' \\
        -d '{"text": "Hello!"}'
    curl -sN localhost:8000/chats/7/stream -H 'content-type: application/json' \\
        -d '{"text": "And in French?"}'
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from llmhub import Hub, InvalidRequestError, LLMHubError, ModelNotFoundError, RateLimitError

MODEL = "mistral-small-latest"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # One hub per worker: its provider pools and its store's connections are
    # shared by every request the worker serves, and closed when it stops.
    async with Hub.open() as hub:
        app.state.hub = hub
        yield


app = FastAPI(title="llmhub example", lifespan=lifespan)


class Question(BaseModel):
    text: str
    model: str = MODEL
    user_id: int | None = None


class Answer(BaseModel):
    text: str
    model: str
    request_id: str
    tokens: int
    cost_usd: float | None


def _hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def _http_error(exc: LLMHubError) -> HTTPException:
    """llmhub's errors as HTTP statuses: the caller's fault, a limit, or an outage."""
    if isinstance(exc, InvalidRequestError | ModelNotFoundError):
        return HTTPException(400, str(exc))
    if isinstance(exc, RateLimitError):
        headers = {"Retry-After": str(int(exc.retry_after or 1))}
        return HTTPException(429, str(exc), headers=headers)
    return HTTPException(502, str(exc))


@app.post("/chats/{chat_id}")
async def ask(chat_id: str, question: Question, request: Request) -> Answer:
    try:
        reply = await _hub(request).reply(
            chat_id, question.text, question.model, user_id=question.user_id
        )
    except LLMHubError as exc:
        raise _http_error(exc) from exc
    return Answer(
        text=reply.text,
        model=reply.model,
        request_id=reply.request_id or "",
        tokens=reply.usage.total_tokens,
        cost_usd=reply.cost,
    )


@app.post("/chats/{chat_id}/stream")
async def ask_streaming(chat_id: str, question: Question, request: Request) -> StreamingResponse:
    stream = _hub(request).stream_reply(
        chat_id, question.text, question.model, user_id=question.user_id
    )
    pieces = aiter(stream)
    try:  # the first piece before the response starts: an error is still an HTTP status
        first = await anext(pieces, "")
    except LLMHubError as exc:
        raise _http_error(exc) from exc

    async def body() -> AsyncIterator[str]:
        try:
            yield first
            async for piece in pieces:
                yield piece
        finally:
            await stream.aclose()  # logged as it ended, also when the client left

    return StreamingResponse(body(), media_type="text/plain; charset=utf-8")


@app.get("/healthz")
async def healthz(request: Request) -> dict[str, object]:
    hub = _hub(request)
    return {"ok": await hub.store.ping(), "held_rows": hub.store.held_rows}
