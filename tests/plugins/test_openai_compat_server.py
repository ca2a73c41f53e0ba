"""Mistral and DeepSeek end to end against a local OpenAI-style server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import TypeVar

import pytest

from llmhub import (
    AuthenticationError,
    BadRequestError,
    ChatRequest,
    Hub,
    LLMHubError,
    Message,
    ProviderTimeoutError,
    ProviderUnavailableError,
    RateLimitError,
    RetryPolicy,
    StreamInterruptedError,
    Usage,
    cli,
    format_usd,
)
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from llmhub_dipseek import DipseekProvider
from llmhub_mistral import MistralProvider

KEY = "sk-leakcheck-9f8e7d6c5b4a39281706"
P = TypeVar("P", MistralProvider, DipseekProvider)


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


async def _no_sleep(_seconds: float) -> None:
    return None


@asynccontextmanager
async def _provider(cls: type[P], server: FakeOpenAIServer) -> AsyncIterator[P]:
    provider = cls({cls.api_key_var: KEY, cls.endpoint_var: server.url})
    provider.retry_policy = RetryPolicy(attempts=3, base_delay=0, max_delay=0, sleep=_no_sleep)
    try:
        yield provider
    finally:
        await provider.aclose()


def _sse(*events: str) -> bytes:
    return "".join(f"{event}\n\n" for event in events).encode()


def _chunk(content: object = None, reasoning: str | None = None) -> str:
    delta: dict[str, object] = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta["reasoning_content"] = reasoning
    return "data: " + json.dumps({"choices": [{"delta": delta, "finish_reason": None}]})


def _req(model: str = "mistral-small-latest") -> ChatRequest:
    return ChatRequest(model, (Message("user", "hi"),))


async def test_stream_skips_keepalives_and_keeps_reasoning_apart(
    server: FakeOpenAIServer,
) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
    server.then(
        Behaviour(
            sse=_sse(
                ": keep-alive",
                ": keep-alive",
                _chunk(reasoning="Let me think."),
                _chunk(""),
                _chunk([{"type": "text", "text": "Hel"}]),
                _chunk(None),
                _chunk("lo"),
                "data: " + json.dumps({"choices": [], "usage": usage}),
                "data: [DONE]",
            )
        )
    )
    async with _provider(DipseekProvider, server) as dipseek:
        chunks = [c async for c in dipseek.stream(_req("deepseek-reasoner"))]
    assert "".join(c.text for c in chunks) == "Hello"
    assert "".join(c.reasoning for c in chunks) == "Let me think."
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 3
    sent = server.requests[-1]
    assert (sent["stream"], sent["stream_options"]) == (True, {"include_usage": True})
    assert server.headers[-1]["Accept"] == "text/event-stream"
    assert server.headers[-1]["Authorization"] == f"Bearer {KEY}"


async def test_mistral_streams_without_stream_options(server: FakeOpenAIServer) -> None:
    server.then(Behaviour(sse=_sse(_chunk("ok"), "data: [DONE]")))
    async with _provider(MistralProvider, server) as mistral:
        assert [c.text async for c in mistral.stream(_req())] == ["ok"]
    assert "stream_options" not in server.requests[-1]


async def test_requests_name_llmhub_and_its_installed_version(server: FakeOpenAIServer) -> None:
    import llmhub

    async with _provider(MistralProvider, server) as mistral:
        await mistral.generate(_req())
        assert [c.text async for c in mistral.stream(_req())]
    assert {h["User-Agent"] for h in server.headers} == {f"llmhub/{llmhub.__version__}"}


async def test_a_stream_without_done_raises_after_yielding(server: FakeOpenAIServer) -> None:
    server.then(Behaviour(sse=_sse(_chunk("part"))))
    received = []
    async with _provider(MistralProvider, server) as mistral:
        with pytest.raises(StreamInterruptedError, match=r"\[DONE\]"):
            async for chunk in mistral.stream(_req()):
                received.append(chunk.text)
    assert received == ["part"]


async def test_a_stream_is_retried_only_before_it_starts(server: FakeOpenAIServer) -> None:
    server.then(
        Behaviour(status=503, body={"message": "busy"}),
        Behaviour(sse=_sse(_chunk("ok"), "data: [DONE]")),
    )
    async with _provider(MistralProvider, server) as mistral:
        assert [c.text async for c in mistral.stream(_req())] == ["ok"]
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (429, RateLimitError), (400, BadRequestError)],
)
async def test_a_stream_refused_at_once_raises_its_error_unretried(
    server: FakeOpenAIServer, status: int, error: type[LLMHubError]
) -> None:
    server.then(
        Behaviour(status=status, body={"message": "no", "type": "x"}, headers={"Retry-After": "99"})
    )
    async with _provider(MistralProvider, server) as mistral:
        with pytest.raises(error) as caught:
            async for _ in mistral.stream(_req()):
                pass
    assert caught.value.status_code == status
    assert len(server.requests) == 1
    if isinstance(caught.value, RateLimitError):
        assert caught.value.retry_after == 99


async def test_a_real_deepseek_stream_replays_through_the_provider(
    server: FakeOpenAIServer,
) -> None:
    captured = (
        Path(__file__).parents[1] / "realwire" / "fixtures" / "dipseek" / "reasoner-stream.sse"
    )
    server.then(Behaviour(sse=captured.read_bytes()))
    async with _provider(DipseekProvider, server) as dipseek:
        chunks = [c async for c in dipseek.stream(_req("deepseek-reasoner"))]
    assert "".join(c.text for c in chunks).strip()
    assert "".join(c.reasoning for c in chunks).strip()
    assert chunks[-1].usage is not None


def _env(server: FakeOpenAIServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'it.db'}",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.url,
        "DIPSEEK_API_KEY": KEY,
        "DIPSEEK_ENDPOINT": server.url,
        "LLMHUB_MAX_RETRIES": "1",
        **extra,
    }


def _rows(tmp_path: Path) -> list[tuple[str, str, str, str | None]]:
    with closing(sqlite3.connect(tmp_path / "it.db")) as conn, conn:
        return conn.execute(
            "SELECT q.model, r.status, r.text, r.error_type FROM requests q"
            " JOIN responses r ON r.request_id = q.id ORDER BY q.rowid"
        ).fetchall()


async def test_streaming_end_to_end_through_the_streaming_twin(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    async with await Hub.open(_env(server, tmp_path)) as hub:
        stream = hub.stream_reply("c1", "tell me a story", "deepseek-chat")
        pieces = [piece async for piece in stream]
        again = await hub.generate_reply("c1", "and then?", "mistral/mistral-small-latest")

    assert "".join(pieces) == "echo: tell me a story"
    assert len(pieces) == 5
    assert stream.reply is not None
    assert stream.reply.usage.total_tokens == 9
    assert again == "echo: and then?"
    context = server.requests[-1]["messages"]
    assert [m["content"] for m in context] == [
        "tell me a story",
        "echo: tell me a story",
        "and then?",
    ]
    assert _rows(tmp_path) == [
        ("deepseek-chat", "ok", "echo: tell me a story", None),
        ("mistral-small-latest", "ok", "echo: and then?", None),
    ]


async def test_keepalives_and_reasoning_over_the_wire(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(Behaviour(keepalive=3, reasoning="hmm", text="done"))
    async with await Hub.open(_env(server, tmp_path)) as hub:
        stream = hub.stream_reply("c", "q", "deepseek-reasoner")
        assert [p async for p in stream] == ["done"]
    assert stream.reply is not None
    assert stream.reply.reasoning == "hmm"


async def test_a_stream_cut_midway_logs_the_partial_text_with_an_error(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(Behaviour(text="one two three four", cut_after=2))
    received: list[str] = []
    async with await Hub.open(_env(server, tmp_path)) as hub:
        with pytest.raises(StreamInterruptedError):
            async for piece in hub.stream_reply("c", "q", "mistral-small-latest"):
                received.append(piece)
    assert "".join(received) == "one two"
    assert _rows(tmp_path) == [
        ("mistral-small-latest", "error", "one two", "StreamInterruptedError")
    ]


async def test_an_error_event_inside_a_stream_is_reported(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(Behaviour(text="a b c", error_event=True))
    async with await Hub.open(_env(server, tmp_path)) as hub:
        with pytest.raises(ProviderUnavailableError, match="overloaded"):
            async for _ in hub.stream_reply("c", "q", "deepseek-chat"):
                pass
    assert _rows(tmp_path)[0][1:3] == ("error", "a")


async def test_a_silent_server_times_out_and_nothing_hangs(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(Behaviour(hang=True), Behaviour(hang=True))
    env = _env(server, tmp_path, LLMHUB_READ_TIMEOUT="0.2", LLMHUB_MAX_RETRIES="0")
    async with await Hub.open(env) as hub:
        with pytest.raises(ProviderTimeoutError):
            await hub.generate_reply("c", "q", "mistral-small-latest")
        with pytest.raises(ProviderTimeoutError):
            async for _ in hub.stream_reply("c", "q", "mistral-small-latest"):
                pass
    assert [row[1] for row in _rows(tmp_path)] == ["error", "error"]


async def test_a_stream_that_goes_silent_midway_times_out_keeping_what_came(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(Behaviour(text="first then silence", hang_after=1))
    env = _env(server, tmp_path, LLMHUB_READ_TIMEOUT="0.2", LLMHUB_MAX_RETRIES="0")
    pieces: list[str] = []
    try:
        async with await Hub.open(env) as hub:
            with pytest.raises(ProviderTimeoutError, match="went silent"):
                async for piece in hub.stream_reply("c", "q", "mistral-small-latest"):
                    pieces.append(piece)
    finally:
        server.release()
    assert pieces == ["first"]
    assert _rows(tmp_path)[-1][1:3] == ("error", "first")


async def test_200_concurrent_requests_share_one_pool_and_are_all_logged(
    server: FakeOpenAIServer, tmp_path: Path
) -> None:
    async with await Hub.open(_env(server, tmp_path)) as hub:
        replies = await asyncio.gather(
            *(hub.generate_reply(f"c{i}", f"n{i}", "mistral-small-latest") for i in range(200))
        )
        provider = hub.registry.get("mistral")
        clients = {id(provider._client)}  # type: ignore[attr-defined]
    assert replies[123] == "echo: n123"
    assert len(clients) == 1
    rows = _rows(tmp_path)
    assert len(rows) == 200
    assert {row[1] for row in rows} == {"ok"}


async def test_the_key_leaks_nowhere(
    server: FakeOpenAIServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.then(
        Behaviour(status=401, body={"error": {"message": f"Incorrect API key provided: {KEY}"}}),
        Behaviour(
            status=429, body={"message": f"rate limit for {KEY}"}, headers={"Retry-After": "999"}
        ),
        Behaviour(status=500, body=f"crash {KEY}"),
        Behaviour(status=500, body=f"crash {KEY}"),
    )
    errors: list[LLMHubError] = []
    async with await Hub.open(_env(server, tmp_path)) as hub:
        for _ in range(3):
            with pytest.raises(LLMHubError) as info:
                await hub.generate_reply("c", "q", "mistral-small-latest")
            errors.append(info.value)
    assert [type(e) for e in errors] == [
        AuthenticationError,
        RateLimitError,
        ProviderUnavailableError,
    ]
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error)
        assert "***" in str(error)
    assert KEY not in caplog.text
    with closing(sqlite3.connect(tmp_path / "it.db")) as conn, conn:
        dump = "\n".join(conn.iterdump())
    assert KEY not in dump


async def test_cli_models_and_chat_against_the_fake_server(
    server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in _env(server, tmp_path).items():
        monkeypatch.setenv(name, value)

    # The CLI runs its own event loop, so it runs in a thread beside the server's.
    code = await asyncio.to_thread(cli.main, ["models"])
    out = capsys.readouterr().out
    assert code == 0
    assert "mistral/mistral-small-latest" in out
    assert "dipseek/deepseek-chat" in out
    assert out.count("mistral/mistral-large-latest") == 1
    lines = out.splitlines()
    assert lines[0].split() == [
        "MODEL",
        "CONTEXT",
        "MAX",
        "OUT",
        "INPUTS",
        "DOES",
        "REASONING",
        "$",
        "IN",
        "$",
        "CACHED",
        "$",
        "OUT",
    ]
    [small] = [line for line in lines if line.startswith("mistral/mistral-small-latest ")]
    assert small.split() == [
        "mistral/mistral-small-latest",
        "131,072",
        "131,072",
        "text",
        "image",
        "pdf",
        "chat",
        "tools",
        "schema",
        "off,high",
        *_price_cells("mistral-small-latest"),
    ]

    code = await asyncio.to_thread(cli.main, ["models", "--json"])
    listed = json.loads(capsys.readouterr().out)["models"]
    [chat] = [m for m in listed["dipseek"] if m["id"] == "deepseek-chat"]
    assert chat["inputs"] == ["text"]
    assert chat["known"] is True
    assert chat["price_per_million_usd"] == {"input": 0.14, "cached_input": 0.0028, "output": 0.28}

    code = await asyncio.to_thread(
        cli.main, ["chat", "-m", "mistral-small-latest", "--chat-id", "t", "hi there"]
    )
    assert code == 0
    assert capsys.readouterr().out == "echo: hi there\n"

    code = await asyncio.to_thread(cli.main, ["logs", "-n", "1"])
    logged = capsys.readouterr().out
    assert "mistral/mistral-small-latest  ok" in logged
    # 2 prompt and 3 completion tokens at the prices in force (genai-prices' data).
    cost = MistralProvider.cost("mistral-small-latest", Usage(prompt_tokens=2, completion_tokens=3))
    assert cost is not None
    assert logged.splitlines()[0].endswith(f"5 tok  {format_usd(cost)}")

    code = await asyncio.to_thread(cli.main, ["chat", "-m", "gpt-nothing", "hi"])
    assert code == 2
    assert "no provider serves model 'gpt-nothing'" in capsys.readouterr().err


async def test_cli_chat_says_when_a_fallback_answered_and_logs_link_it(
    server: FakeOpenAIServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = _env(server, tmp_path, LLMHUB_MAX_RETRIES="0", LLMHUB_FALLBACKS="deepseek-chat")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server.then(Behaviour(status=503, body={"message": "overloaded"}))
    code = await asyncio.to_thread(
        cli.main, ["chat", "--no-stream", "-m", "mistral-small-latest", "--chat-id", "f", "hi"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == "echo: hi\n"
    assert "(answered by dipseek/deepseek-chat; mistral/mistral-small-latest: unavailable)" in (
        captured.err
    )

    await asyncio.to_thread(cli.main, ["logs", "-n", "2"])
    logged = capsys.readouterr().out.splitlines()
    assert "dipseek/deepseek-chat  ok" in logged[0]
    [failed] = [line for line in logged if "mistral/mistral-small-latest  error" in line]
    first_id = failed.split()[2]
    assert logged[:4] == [
        logged[0],
        "  > hi",
        "  < echo: hi",
        f"  ↪ fallback for {first_id}",
    ]


def _price_cells(model: str) -> list[str]:
    """$ in, $ cached, $ out as `llmhub models` shows them: from the maintained data,
    which a newer genai-prices release may change, so asked of it here."""

    price = MistralProvider.price(model).price
    assert price is not None
    cached = price.cached_input if price.cached_input is not None else price.input
    return [f"{price.input:g}", f"{cached:g}", f"{price.output:g}"]
