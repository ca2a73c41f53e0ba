"""Faults a reliability campaign found in the library (issue 24): each of these
failed before its fix."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from llmhub import (
    BadRequestError,
    ChatRequest,
    EnvVar,
    Hub,
    InvalidRequestError,
    InvalidTextError,
    LLMHubError,
    Message,
    ProviderTimeoutError,
    RateLimitError,
    ReplyTooLongError,
)
from llmhub.openai_compat import OpenAICompatibleProvider
from llmhub.openai_compat._errors import parse_retry_after
from llmhub.store import redact_url
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.scripts import run_python

KEY = "sk-faults-5f4e3d2c1b0a"
MODEL = "mistral-small-latest"


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


def _env(llm: FakeOpenAIServer, tmp_path: Path) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'faults.db'}",
        "LLMHUB_MAX_RETRIES": "0",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": llm.url,
    }


def _rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with closing(sqlite3.connect(tmp_path / "faults.db")) as db:
        return db.execute(sql).fetchall()


async def test_a_call_asked_again_under_its_id_does_not_see_its_own_answer(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    async with await Hub.open(_env(llm, tmp_path)) as hub:
        await hub.reply(1, "first", MODEL)
        await hub.reply(1, "second", MODEL, request_id="tg-1-2")
        # The process died after logging the answer, before delivering it: asked again.
        await hub.reply(1, "second", MODEL, request_id="tg-1-2")
    sent = [m["content"] for m in llm.requests[-1]["messages"]]
    assert sent == ["first", "echo: first", "second"]  # not "second" twice


@pytest.mark.parametrize("where", ["prompt", "system", "history"])
async def test_text_that_is_not_unicode_is_bad_input_not_an_outage(
    llm: FakeOpenAIServer, tmp_path: Path, where: str
) -> None:
    broken = "half an emoji: \ud83d"
    async with await Hub.open(_env(llm, tmp_path)) as hub:
        for _ in range(6):  # more than the circuit breaker's five failures
            with pytest.raises(InvalidTextError) as caught:
                if where == "prompt":
                    await hub.reply(1, broken, MODEL)
                elif where == "system":
                    await hub.reply(1, "hi", MODEL, system=broken)
                else:
                    await hub.reply(1, "hi", MODEL, history=[Message.user(broken)])
            assert isinstance(caught.value, BadRequestError)
        assert hub.breaker.allow("mistral")
        assert (await hub.reply(2, "still fine", MODEL)).text == "echo: still fine"
    assert len(llm.requests) == 1  # only the good call was sent
    assert _rows(tmp_path, "SELECT prompt FROM requests") == [("still fine",)]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("inf", None),
        ("nan", None),
        ("-5", 0.0),
        ("1e308", 86_400.0),
        ("120", 120.0),
        ("garbage", None),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past
    ],
)
def test_retry_after_is_validated_and_clamped(header: str, seconds: float | None) -> None:
    assert parse_retry_after({"retry-after": header}) == seconds


async def test_an_infinite_retry_after_still_makes_a_readable_error(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    llm.then(Behaviour(status=429, headers={"Retry-After": "inf"}, body={"message": "slow down"}))
    async with await Hub.open(_env(llm, tmp_path)) as hub:
        with pytest.raises(RateLimitError) as caught:
            await hub.reply(1, "hi", MODEL)
    assert caught.value.retry_after is None
    assert "slow down" in str(caught.value)


@pytest.mark.parametrize(
    "event",
    [
        f'data: {{"error": {{"message": "key {KEY} is over its quota"}}}}\n\n',
        f"data: <html>bad gateway for {KEY}</html>\n\n",
    ],
)
async def test_a_key_echoed_inside_a_stream_never_reaches_the_log_or_the_caller(
    llm: FakeOpenAIServer, tmp_path: Path, event: str
) -> None:
    llm.then(Behaviour(sse=event.encode()))
    async with await Hub.open(_env(llm, tmp_path)) as hub:
        with pytest.raises(LLMHubError) as caught:
            async with hub.stream_reply(1, "hi", MODEL, fallbacks=[]) as stream:
                async for _ in stream:
                    pass
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value.args)
    assert "***" in str(caught.value)
    [(message,)] = _rows(tmp_path, "SELECT error_message FROM responses")
    assert KEY not in str(message)
    assert "***" in str(message)


async def test_a_provider_without_a_key_sends_no_authorization(llm: FakeOpenAIServer) -> None:
    class Keyless(OpenAICompatibleProvider):
        name = "keyless"
        env_vars = (EnvVar("KEYLESS_ENDPOINT", "a local server's URL"),)
        api_key_var = "KEYLESS_API_KEY"
        endpoint_var = "KEYLESS_ENDPOINT"
        default_endpoint = "http://127.0.0.1:1"

    llm.api_key = None
    provider = Keyless({"KEYLESS_ENDPOINT": llm.url})
    try:
        await provider.list_models()
        await provider.generate(ChatRequest(MODEL, (Message.user("hi"),)))
        async for _ in provider.stream(ChatRequest(MODEL, (Message.user("hi"),))):
            pass
    finally:
        await provider.aclose()
    assert [h.get("Authorization") for h in llm.headers] == [None, None, None]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://u:secret@db/x", "postgresql://u:***@db/x"),
        (
            "postgresql://db/x?user=u&password=secret&sslmode=require",
            "postgresql://db/x?user=u&password=***&sslmode=require",
        ),
        ("redis://h:6379/0?password=secret", "redis://h:6379/0?password=***"),
        ("sqlite:///llmhub.db", "sqlite:///llmhub.db"),
    ],
)
def test_a_password_in_a_url_is_redacted_wherever_it_is(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_breaking_out_of_a_module_level_stream_is_quiet_and_logged(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    script = f"""
import asyncio
from llmhub import stream_reply

async def main() -> None:
    async for piece in stream_reply(42, "one two three", "{MODEL}"):
        print(piece)
        break

asyncio.run(main())
"""
    code, out, err = await run_python(script, tmp_path, _env(llm, tmp_path))
    assert code == 0, err
    assert out == "echo:\n"
    assert err == ""  # no "aclose(): asynchronous generator is already running"
    assert _rows(tmp_path, "SELECT status, text FROM responses") == [("cancelled", "echo:")]


async def test_a_stream_that_keeps_sending_comments_still_ends_at_the_total_timeout(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    llm.then(Behaviour(drip=0.02))
    env = _env(llm, tmp_path) | {"LLMHUB_TIMEOUT": "1", "LLMHUB_READ_TIMEOUT": "60"}
    async with await Hub.open(env) as hub:
        # On a loaded machine the response head itself may use the whole second ("the
        # call took over"): either way the call ends at the total timeout, never later.
        with pytest.raises(ProviderTimeoutError, match=r"the (stream|call) took over 1 s"):
            async with hub.stream_reply(1, "hi", MODEL, fallbacks=[]) as stream:
                async for _ in stream:
                    pass
    llm.release()
    assert _rows(tmp_path, "SELECT status, error_type FROM responses") == [
        ("error", "ProviderTimeoutError")
    ]


async def test_a_response_head_slower_than_the_total_timeout_ends_at_it(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    llm.then(Behaviour(hang=True))
    env = _env(llm, tmp_path) | {"LLMHUB_TIMEOUT": "0.3", "LLMHUB_READ_TIMEOUT": "60"}
    async with await Hub.open(env) as hub:
        with pytest.raises(ProviderTimeoutError, match=r"the call took over 0.3 s"):
            async with hub.stream_reply(1, "hi", MODEL, fallbacks=[]) as stream:
                async for _ in stream:
                    pass
    llm.release()


@pytest.mark.parametrize("stream", [True, False])
async def test_a_reply_past_the_size_limit_ends_with_a_clear_error_and_the_start_logged(
    llm: FakeOpenAIServer, tmp_path: Path, stream: bool
) -> None:
    llm.then(Behaviour(text=" ".join(["word"] * 200)))
    env = _env(llm, tmp_path) | {"LLMHUB_MAX_REPLY_BYTES": "400"}
    async with await Hub.open(env) as hub:
        with pytest.raises(ReplyTooLongError, match="LLMHUB_MAX_REPLY_BYTES"):
            if stream:
                async with hub.stream_reply(1, "hi", MODEL, fallbacks=[]) as pieces:
                    async for _ in pieces:
                        pass
            else:
                await hub.reply(1, "hi", MODEL, fallbacks=[])
    [(status, text)] = _rows(tmp_path, "SELECT status, text FROM responses")
    assert status == "error"
    if stream:  # what came before the limit is kept
        assert str(text).startswith("word word")


async def test_a_user_id_past_64_bits_is_refused_at_the_edge(
    llm: FakeOpenAIServer, tmp_path: Path
) -> None:
    async with await Hub.open(_env(llm, tmp_path)) as hub:
        with pytest.raises(InvalidRequestError, match="does not fit in 64 bits"):
            await hub.reply(1, "hi", MODEL, user_id=2**63)
    assert llm.requests == []


async def test_a_transport_error_keeps_its_cause_and_the_key_stays_out_of_the_chain() -> None:
    """The error raised for a refused connection carries the original as `__cause__`
    (what a debugger and a traceback need), and no part of the chain shows the key."""
    import traceback

    from llmhub import LLMHubError, RetryPolicy

    class Closed(OpenAICompatibleProvider):
        name = "closed"
        env_vars = (EnvVar("CLOSED_API_KEY", "key", secret=True),)
        api_key_var = "CLOSED_API_KEY"
        endpoint_var = "CLOSED_ENDPOINT"
        default_endpoint = "http://127.0.0.1:1"

    provider = Closed({"CLOSED_API_KEY": KEY}, retry_policy=RetryPolicy(attempts=1))
    try:
        for call in (
            provider.list_models,
            lambda: provider.generate(ChatRequest(MODEL, (Message.user("hi"),))),
        ):
            with pytest.raises(LLMHubError) as caught:
                await call()
            assert caught.value.__cause__ is not None
            chain = "".join(traceback.format_exception(caught.value))
            assert "The above exception was the direct cause" in chain
            assert KEY not in chain
    finally:
        await provider.aclose()
