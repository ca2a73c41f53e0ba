"""Bodies the real Mistral, DeepSeek and Vertex AI services sent (captured by
others; sources in SOURCES.md), replayed through the public API by the local
fakes: each becomes the error a caller can act on, in words a person can read.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from google.cloud import aiplatform_v1 as v1

from llmhub import ContentBlockedError, Hub, LLMHubError
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.fakes.gemini_server import FakePredictionService, Step

FIXTURES = Path(__file__).parent / "fixtures"
#: Both manifests (fixtures/ and fixtures-new/), each case with the folder of its body.
MANIFEST: dict[str, dict[str, Any]] = {
    name: case | {"folder": str(folder / "errors")}
    for folder in (FIXTURES, FIXTURES.parent / "fixtures-new")
    for name, case in json.loads((folder / "errors" / "manifest.json").read_text("utf-8")).items()
}
KEY = "sk-realwire-key-1f2e3d4c"
MODELS = {
    "mistral": "mistral-small-latest",
    "dipseek": "deepseek-chat",
    "gemini": "gemini-2.5-flash",
}

#: What a validation error must name, field by field (from its `loc`).
FIELDS = {
    "mistral-422-detail-list": ["store: Extra inputs", "max_completion_tokens: Extra inputs"],
    "mistral-422-json-in-string": ["frequency_penalty: Extra inputs are not permitted"],
    "mistral-422-stream-options": ["stream_options.include_usage: Extra inputs are not permitted"],
}


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'wire.db'}",
        "LLMHUB_MAX_RETRIES": "0",
    } | extra


@pytest.mark.parametrize("name", sorted(k for k, v in MANIFEST.items() if "status" in v))
async def test_a_real_error_body_becomes_its_error(tmp_path: Path, name: str) -> None:
    case = MANIFEST[name]
    body = (Path(case["folder"]) / case["body"]).read_text(encoding="utf-8")
    prefix = case["provider"].upper()
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(status=case["status"], body=body))
        env = _env(tmp_path, **{f"{prefix}_API_KEY": KEY, f"{prefix}_ENDPOINT": llm.url})
        async with Hub.open(env) as hub:
            with pytest.raises(LLMHubError) as caught:
                await hub.generate_reply(1, "hi", MODELS[case["provider"]])
    error = caught.value
    assert type(error).__name__ == case["expect"], str(error)
    assert case["must_mention"] in str(error)
    assert '{"' not in str(error)  # read, not dumped as raw JSON
    assert KEY not in str(error)
    for field in FIELDS.get(name, []):
        assert field in str(error)


@pytest.mark.parametrize("name", sorted(k for k, v in MANIFEST.items() if "grpc_code" in v))
async def test_a_real_grpc_error_becomes_its_error(tmp_path: Path, name: str) -> None:
    case = MANIFEST[name]
    async with FakePredictionService() as fake:
        code = grpc.StatusCode[case["grpc_code"]]
        fake.then(Step(code=code, message=case["message"], retry_delay=case.get("retry_delay_s")))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with Hub.open(env) as hub:
            with pytest.raises(LLMHubError) as caught:
                await hub.generate_reply(1, "hi", MODELS["gemini"])
    assert type(caught.value).__name__ == case["expect"]
    assert case["must_mention"] in str(caught.value)
    if "retry_delay_s" in case:  # google.rpc.RetryInfo, read as Retry-After is
        assert getattr(caught.value, "retry_after", None) == pytest.approx(case["retry_delay_s"])


@pytest.mark.parametrize("stream", [False, True])
async def test_a_withheld_gemini_reply_says_why(tmp_path: Path, stream: bool) -> None:
    captured = (FIXTURES / "gemini" / "armor-response-blocked-completion.json").read_text()
    response = v1.GenerateContentResponse.from_json(captured, ignore_unknown_fields=True)
    async with FakePredictionService() as fake:
        fake.then(Step(response=response))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with Hub.open(env) as hub:
            with pytest.raises(ContentBlockedError) as caught:
                if stream:
                    async with hub.stream_reply(1, "hi", MODELS["gemini"]) as pieces:
                        async for _ in pieces:
                            pass
                else:
                    await hub.generate_reply(1, "hi", MODELS["gemini"])
    assert "MODEL_ARMOR" in str(caught.value)
    assert "violated Responsible AI Safety settings" in str(caught.value)


async def test_mistral_lists_only_the_models_it_chats_with(tmp_path: Path) -> None:
    listing = (FIXTURES / "listings" / "mistral-models-subset.json").read_text(encoding="utf-8")
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(body=listing))
        env = _env(tmp_path, MISTRAL_API_KEY=KEY, MISTRAL_ENDPOINT=llm.url)
        async with Hub.open(env) as hub:
            catalog = await hub.list_models()
    listed = catalog.by_provider["mistral"]
    assert "mistral-small-latest" in listed
    assert "codestral-latest" in listed
    for not_chat in ("mistral-embed", "mistral-moderation-latest", "mistral-ocr-latest"):
        assert not_chat not in listed


def _at_utc(monkeypatch: pytest.MonkeyPatch, hour: int) -> None:
    """Requests logged (and priced) at `hour`:00 UTC on 2026-12-03."""
    moment = dt.datetime(2026, 12, 3, hour, tzinfo=dt.UTC).timestamp()
    clock = SimpleNamespace(time=lambda: moment, perf_counter=time.perf_counter)
    monkeypatch.setattr("llmhub._attempts.time", clock)


@pytest.mark.parametrize(
    ("hour", "rates"),
    [(17, (0.15, 0.6)), (3, (0.3, 1.2))],  # off-peak, then peak (UTC 01:00-04:00)
)
async def test_a_real_deepseek_reply_is_priced_at_the_hour_it_was_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hour: int, rates: tuple[float, float]
) -> None:
    _at_utc(monkeypatch, hour)
    body = (FIXTURES / "dipseek" / "reasoner-completion.json").read_text(encoding="utf-8")
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(body=body), Behaviour(body=body))
        env = _env(tmp_path, DIPSEEK_API_KEY=KEY, DIPSEEK_ENDPOINT=llm.url)
        async with Hub.open(env) as hub:
            reply = await hub.reply(1, "hi", "deepseek-reasoner")
            flash = await hub.reply(2, "hi", "deepseek-flash")
    # 12 prompt tokens (none cached) and 789 output tokens, 415 of them reasoning, at
    # DeepSeek V4.1 Flash's rates in force then (deepseek-reasoner is an older name of
    # deepseek-v4-flash, which DeepSeek routes to V4.1 Flash since 2026-09-10).
    assert (reply.usage.completion_tokens, reply.usage.reasoning_tokens) == (789, 415)
    expected = (12 * rates[0] + 789 * rates[1]) / 1e6
    assert reply.cost == pytest.approx(expected)
    assert flash.cost == pytest.approx(expected)


async def test_gemini_thinking_tokens_count_as_output_and_are_priced(tmp_path: Path) -> None:
    captured = (FIXTURES / "gemini" / "pro-thinking-completion.json").read_text()
    response = v1.GenerateContentResponse.from_json(captured, ignore_unknown_fields=True)
    async with FakePredictionService() as fake:
        fake.then(Step(response=response))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with Hub.open(env) as hub:
            reply = await hub.reply(1, "hi", "gemini-2.5-pro")
    usage = reply.usage
    # The service counted 29 prompt, 736 answer and 1001 thinking tokens (1766 in all).
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (29, 1737, 1766)
    assert usage.reasoning_tokens == 1001
    assert reply.cost == pytest.approx((29 * 1.25 + 1737 * 10.0) / 1e6)
