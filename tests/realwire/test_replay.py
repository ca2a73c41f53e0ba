"""Bodies the real Mistral, DeepSeek and Vertex AI services sent (captured by
others; sources in SOURCES.md), replayed through the public API by the local
fakes: each becomes the error a caller can act on, in words a person can read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud import aiplatform_v1 as v1

from llmhub import ContentBlockedError, Hub, LLMHubError
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.fakes.gemini_server import FakePredictionService, Step

FIXTURES = Path(__file__).parent / "fixtures"
MANIFEST: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "errors" / "manifest.json").read_text(encoding="utf-8")
)
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
    body = (FIXTURES / "errors" / case["body"]).read_text(encoding="utf-8")
    prefix = case["provider"].upper()
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(status=case["status"], body=body))
        env = _env(tmp_path, **{f"{prefix}_API_KEY": KEY, f"{prefix}_ENDPOINT": llm.url})
        async with await Hub.open(env) as hub:
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
        fake.then(Step(code=grpc.StatusCode[case["grpc_code"]], message=case["message"]))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with await Hub.open(env) as hub:
            with pytest.raises(LLMHubError) as caught:
                await hub.generate_reply(1, "hi", MODELS["gemini"])
    assert type(caught.value).__name__ == case["expect"]
    assert case["must_mention"] in str(caught.value)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_withheld_gemini_reply_says_why(tmp_path: Path, stream: bool) -> None:
    captured = (FIXTURES / "gemini" / "armor-response-blocked-completion.json").read_text()
    response = v1.GenerateContentResponse.from_json(captured, ignore_unknown_fields=True)
    async with FakePredictionService() as fake:
        fake.then(Step(response=response))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with await Hub.open(env) as hub:
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
        async with await Hub.open(env) as hub:
            catalog = await hub.list_models()
    listed = catalog.by_provider["mistral"]
    assert "mistral-small-latest" in listed
    assert "codestral-latest" in listed
    for not_chat in ("mistral-embed", "mistral-moderation-latest", "mistral-ocr-latest"):
        assert not_chat not in listed
