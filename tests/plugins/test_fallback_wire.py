"""A dead provider costs one retry budget, then a fallback answers: the real Mistral and
DeepSeek plugins against two local fake servers (and a port nothing listens on)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from llmhub import BadRequestError, Hub, RetryPolicy
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer

KEY = "sk-fallback-key"


async def _no_wait(_seconds: float) -> None:
    return None


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeOpenAIServer, FakeOpenAIServer]]:
    async with FakeOpenAIServer(api_key=KEY) as mistral, FakeOpenAIServer(api_key=KEY) as deepseek:
        yield mistral, deepseek


async def _hub(tmp_path: Path, mistral_url: str, deepseek_url: str) -> Hub:
    hub = await Hub.open(
        {
            "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'fb.db'}",
            "LLMHUB_MAX_RETRIES": "2",
            "LLMHUB_FALLBACKS": "deepseek-chat",
            "MISTRAL_API_KEY": KEY,
            "MISTRAL_ENDPOINT": mistral_url,
            "DIPSEEK_API_KEY": KEY,
            "DIPSEEK_ENDPOINT": deepseek_url,
        }
    )
    for name in ("mistral", "dipseek"):  # the same attempts, without the waits between them
        provider = hub.registry.get(name)
        provider.retry_policy = RetryPolicy(
            attempts=provider.retry_policy.attempts,
            max_retry_after=provider.retry_policy.max_retry_after,
            sleep=_no_wait,
        )
    return hub


async def test_five_hundreds_use_up_the_retries_then_the_fallback_answers(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    mistral, deepseek = servers
    mistral.then(*[Behaviour(status=503, body={"message": "upstream overloaded"})] * 3)
    async with await _hub(tmp_path, mistral.url, deepseek.url) as hub:
        reply = await hub.reply(1, "hello", "mistral-small-latest")
    assert len(mistral.requests) == 3  # the first try and LLMHUB_MAX_RETRIES=2
    assert len(deepseek.requests) == 1
    assert (reply.provider, reply.model, reply.text) == ("dipseek", "deepseek-chat", "echo: hello")
    assert reply.attempts[0].outcome == "unavailable"
    assert "upstream overloaded" in reply.attempts[0].error


async def test_a_rate_limit_longer_than_the_caller_waits_falls_back_at_once(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    mistral, deepseek = servers
    mistral.then(Behaviour(status=429, headers={"Retry-After": "120"}, body={"message": "slow"}))
    async with await _hub(tmp_path, mistral.url, deepseek.url) as hub:
        reply = await hub.reply(1, "hello", "mistral-small-latest")
    assert len(mistral.requests) == 1  # 120 s is over LLMHUB_MAX_RETRY_AFTER (30 s)
    assert reply.attempts[0].outcome == "rate_limited"
    assert reply.provider == "dipseek"


async def test_a_refused_connection_falls_back_and_a_stream_too(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    _mistral, deepseek = servers
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with await _hub(tmp_path, dead, deepseek.url) as hub:
        async with hub.stream_reply(1, "hello", "mistral-small-latest") as stream:
            text = "".join([piece async for piece in stream])
        rows = await hub.store.recent_exchanges()
    assert text == "echo: hello"
    assert stream.reply is not None
    assert stream.reply.attempts[0].provider == "mistral"
    assert [(row.provider, row.status) for row in reversed(rows)] == [
        ("mistral", "error"),
        ("dipseek", "ok"),
    ]
    assert rows[0].first_request_id == rows[1].request_id


async def test_a_bad_request_is_shown_not_sent_elsewhere(
    tmp_path: Path, servers: tuple[FakeOpenAIServer, FakeOpenAIServer]
) -> None:
    mistral, deepseek = servers
    mistral.then(
        Behaviour(
            status=400,
            body={"message": "messages: Field required", "type": "invalid_request_error"},
        )
    )
    async with await _hub(tmp_path, mistral.url, deepseek.url) as hub:
        with pytest.raises(BadRequestError):
            await hub.reply(1, "hello", "mistral-small-latest")
    assert deepseek.requests == []
