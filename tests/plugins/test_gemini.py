"""Gemini through the real gapic client against a local fake gRPC PredictionService."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import grpc
import pytest
from google.cloud import aiplatform_v1 as v1

from llmhub import (
    Attachment,
    BadRequestError,
    ChatRequest,
    ContentBlockedError,
    GenerationOptions,
    Hub,
    Message,
    RateLimitError,
    RetryPolicy,
    UnsupportedInputError,
    cli,
)
from llmhub_gemini import GeminiProvider
from llmhub_gemini._client import plaintext_target
from tests.fakes.gemini_server import FakePredictionService, Step

KEY = "AIza-gemini-secret-key-000111222"


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
async def fake() -> AsyncIterator[FakePredictionService]:
    async with FakePredictionService() as server:
        yield server


@pytest.fixture
async def gemini(fake: FakePredictionService) -> AsyncIterator[GeminiProvider]:
    provider = GeminiProvider(
        {
            "GEMINI_PROJECT": "proj-1",
            "GEMINI_LOCATION": "europe-west4",
            "GEMINI_ENDPOINT": fake.target,
        }
    )
    provider.retry_policy = RetryPolicy(attempts=3, base_delay=0, max_delay=0, sleep=_no_sleep)
    yield provider
    await provider.aclose()


def _env(fake: FakePredictionService, tmp_path: Path) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GEMINI_PROJECT": "proj-1",
        "GEMINI_ENDPOINT": fake.target,
        "GEMINI_KEY": KEY,
    }


def test_endpoint_rules() -> None:
    assert plaintext_target("127.0.0.1:5005") == "127.0.0.1:5005"
    assert plaintext_target("us-central1-aiplatform.googleapis.com") is None
    assert plaintext_target("europe-west4-aiplatform.googleapis.com:443") is None
    assert plaintext_target("https://example.com:8443") is None


async def test_history_system_options_and_resource_arrive_as_contents(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    request = ChatRequest(
        "gemini-2.5-flash",
        (
            Message("system", "be terse"),
            Message("user", "hi"),
            Message("assistant", "hello"),
            Message("user", "again"),
        ),
        GenerationOptions(temperature=0.1, max_tokens=64, stop=("X",), seed=3, json_mode=True),
    )

    reply = await gemini.generate(request)

    assert reply.text == "echo: again"
    assert (reply.finish_reason, reply.usage.total_tokens) == ("stop", 7)
    sent = fake.requests[-1]
    assert sent.model == (
        "projects/proj-1/locations/europe-west4/publishers/google/models/gemini-2.5-flash"
    )
    assert [(c.role, c.parts[0].text) for c in sent.contents] == [
        ("user", "hi"),
        ("model", "hello"),
        ("user", "again"),
    ]
    assert sent.system_instruction.parts[0].text == "be terse"
    config = sent.generation_config
    assert (config.max_output_tokens, list(config.stop_sequences), config.seed) == (64, ["X"], 3)
    assert config.response_mime_type == "application/json"
    assert config.temperature == pytest.approx(0.1)


async def test_an_image_arrives_with_its_bytes_and_type(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    image = Attachment(b"\x89PNG\r\n\x1a\n-pixels", "image/png", "cat.png")
    await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "what?", (image,)),)))
    parts = fake.requests[-1].contents[0].parts
    assert parts[0].text == "what?"
    assert parts[1].inline_data.mime_type == "image/png"
    assert parts[1].inline_data.data == b"\x89PNG\r\n\x1a\n-pixels"


async def test_a_file_over_the_limit_is_refused_before_sending(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    big = Attachment(b"0" * (GeminiProvider.max_file_bytes + 1), "application/pdf", "big.pdf")
    with pytest.raises(UnsupportedInputError, match=r"big\.pdf"):
        await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "x", (big,)),)))
    assert fake.requests == []


async def test_resource_exhausted_then_success_is_retried(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    fake.then(Step(code=grpc.StatusCode.RESOURCE_EXHAUSTED, message="quota"))
    reply = await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "q"),)))
    assert reply.text == "echo: q"
    assert len(fake.requests) == 2


async def test_invalid_argument_is_not_retried(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    fake.then(Step(code=grpc.StatusCode.INVALID_ARGUMENT, message="temperature too high"))
    with pytest.raises(BadRequestError, match="temperature too high"):
        await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "q"),)))
    assert len(fake.requests) == 1


async def test_rate_limits_are_reported_after_the_retries(
    gemini: GeminiProvider, fake: FakePredictionService
) -> None:
    fake.then(*[Step(code=grpc.StatusCode.RESOURCE_EXHAUSTED, message="quota")] * 3)
    with pytest.raises(RateLimitError):
        await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "q"),)))
    assert len(fake.requests) == 3


@pytest.mark.parametrize(
    "step",
    [Step(block_reason="SAFETY"), Step(finish_reason="SAFETY")],
    ids=["prompt-blocked", "reply-withheld"],
)
async def test_a_safety_block_is_a_clear_error(
    gemini: GeminiProvider, fake: FakePredictionService, step: Step
) -> None:
    fake.then(step)
    with pytest.raises(ContentBlockedError, match="SAFETY"):
        await gemini.generate(ChatRequest("gemini-2.5-flash", (Message("user", "q"),)))


async def test_unary_and_streaming_through_the_hub(
    fake: FakePredictionService, tmp_path: Path
) -> None:
    async with await Hub.open(_env(fake, tmp_path)) as hub:
        text = await hub.generate_reply(1, "hello there", "gemini-2.5-flash")
        stream = hub.stream_reply(1, "stream me please", "gemini-2.5-flash")
        pieces = [p async for p in stream]
    assert text == "echo: hello there"
    assert pieces == ["echo:", " stream", " me", " please"]
    assert stream.reply is not None
    assert stream.reply.usage.total_tokens == 7
    assert [c.role for c in fake.requests[-1].contents] == ["user", "model", "user"]
    with closing(sqlite3.connect(tmp_path / "g.db")) as conn, conn:
        rows = conn.execute("SELECT status, text FROM responses ORDER BY rowid").fetchall()
    assert rows == [("ok", "echo: hello there"), ("ok", "echo: stream me please")]


async def test_listing_falls_back_when_model_garden_is_not_served(
    gemini: GeminiProvider,
) -> None:
    models = await gemini.list_models()
    assert "gemini-2.5-flash" in models
    assert gemini.listing_note is not None


async def test_cli_chat_reaches_the_fake_server(
    fake: FakePredictionService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in _env(fake, tmp_path).items():
        monkeypatch.setenv(name, value)
    code = await asyncio.to_thread(cli.main, ["chat", "-m", "gemini-2.5-flash", "hi"])
    assert code == 0
    assert capsys.readouterr().out == "echo: hi\n"
    assert isinstance(fake.requests[-1], v1.GenerateContentRequest)


# -- Vertex AI express mode: GEMINI_KEY without GEMINI_PROJECT ------------------------


async def test_express_mode_sends_the_key_and_no_project(
    fake: FakePredictionService, tmp_path: Path
) -> None:
    env = {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "GEMINI_KEY": KEY,
        "GEMINI_ENDPOINT": fake.target,
    }
    async with await Hub.open(env) as hub:
        assert await hub.generate_reply(1, "hello", "gemini-2.5-flash") == "echo: hello"
        async with hub.stream_reply(1, "again", "gemini-2.5-flash") as stream:
            assert "".join([piece async for piece in stream]) == "echo: again"
        catalog = await hub.list_models()
    assert [r.model for r in fake.requests] == ["publishers/google/models/gemini-2.5-flash"] * 2
    assert all(m.get("x-goog-api-key") == KEY for m in fake.metadata)
    assert all("projects/" not in r.model for r in fake.requests)
    assert "gemini-2.5-flash" in catalog.by_provider["gemini"]
    assert "express mode" in catalog.notes["gemini"]


def test_llmhub_providers_says_which_mode_and_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmhub import cli

    monkeypatch.setenv("GEMINI_KEY", KEY)
    assert cli.main(["providers"]) == 0
    out = capsys.readouterr().out
    assert "mode: Vertex AI express mode (GEMINI_KEY is set and GEMINI_PROJECT is not)" in out
    assert KEY not in out
    monkeypatch.setenv("GEMINI_PROJECT", "proj-9")
    assert cli.main(["providers"]) == 0
    assert "mode: Vertex AI, project proj-9 in us-central1 (GEMINI_KEY" in capsys.readouterr().out


def test_neither_project_nor_key_names_both() -> None:
    provider = GeminiProvider({})
    assert not provider.configured
    assert GeminiProvider.missing_env({}) == ["GEMINI_PROJECT or GEMINI_KEY"]
    assert GeminiProvider({"GEMINI_KEY": KEY}).configured
