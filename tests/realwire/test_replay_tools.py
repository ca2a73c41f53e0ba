"""Tool-call bodies the real Mistral, DeepSeek and Vertex AI services sent (captured
by others; sources in SOURCES-new.md), replayed through the plugins: each call is
run with its arguments and answered the way the provider takes it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1 as v1
from google.protobuf import json_format

from llmhub import Hub
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer
from tests.fakes.gemini_server import FakePredictionService, Step

FIXTURES = Path(__file__).parent / "fixtures-new"
KEY = "sk-realwire-tools-5e6f7a8b"

seen: list[tuple[str, dict[str, Any]]] = []
SF = {"location": "San Francisco"}
DICE = {"id": "DICE_ROLL"}


def get_weather(city: str) -> str:
    """Weather in a city."""
    seen.append(("get_weather", {"city": city}))
    return "sunny"


def weather(location: str) -> str:
    """Weather at a location."""
    seen.append(("weather", {"location": location}))
    return "72F and sunny"


def load_capability(id: str) -> str:
    """Load a deferred capability."""
    seen.append(("load_capability", {"id": id}))
    return "DICE_ROLL loaded"


def list_files() -> str:
    """The files here."""
    seen.append(("list_files", {}))
    return "a.txt"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'wire.db'}",
        "LLMHUB_MAX_RETRIES": "0",
    } | extra


@pytest.mark.parametrize(
    ("provider", "model", "fixture", "tool", "arguments"),
    [
        (
            "mistral",
            "mistral-large-latest",
            "mistral/large-tool-calls-completion.json",
            get_weather,
            {"city": "Paris"},
        ),
        (
            "mistral",
            "mistral-small-latest",
            "mistral/small-tool-call-completion.json",
            weather,
            {"location": "San Francisco"},
        ),
        (
            "dipseek",
            "deepseek-v4-flash",
            "dipseek/reasoner-tool-calls-completion.json",
            load_capability,
            {"id": "DICE_ROLL"},
        ),
    ],
)
async def test_a_real_tool_call_reply_runs_its_tool_and_goes_back(
    tmp_path: Path, provider: str, model: str, fixture: str, tool: Any, arguments: dict[str, Any]
) -> None:
    seen.clear()
    body = (FIXTURES / fixture).read_text(encoding="utf-8")
    raw = json.loads(body)["choices"][0]["message"]
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(body=body), Behaviour(text="Done."))
        prefix = provider.upper()
        env = _env(tmp_path, **{f"{prefix}_API_KEY": KEY, f"{prefix}_ENDPOINT": llm.url})
        async with await Hub.open(env) as hub:
            reply = await hub.reply(1, "go", model, tools=[tool])
        sent = llm.requests[1]["messages"]
    assert seen == [(tool.__name__, arguments)]
    assert reply.text == "Done."
    assistant, result = sent[-2:]
    assert assistant["tool_calls"][0]["function"]["name"] == tool.__name__
    assert result["role"] == "tool"
    assert result["tool_call_id"] == assistant["tool_calls"][0]["id"]
    if provider == "mistral":  # Mistral's own 9-character ids go back unchanged
        assert assistant["tool_calls"][0]["id"] == raw["tool_calls"][0]["id"]
    else:  # DeepSeek's thinking mode: the reasoning and the text go back with the call
        assert assistant["reasoning_content"] == raw["reasoning_content"]
        assert assistant["content"] == "Let me load the dice rolling capability!"
        assert assistant["tool_calls"][0]["id"] == "call_00_sXqYgMESDht75NCLLZtt9804"


async def test_a_real_deepseek_tool_loop_ends_in_its_real_answer_priced_for_both_calls(
    tmp_path: Path,
) -> None:
    first = (FIXTURES / "dipseek" / "reasoner-tool-calls-completion.json").read_text(
        encoding="utf-8"
    )
    last = (FIXTURES / "dipseek" / "reasoner-after-tools-completion.json").read_text(
        encoding="utf-8"
    )
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(body=first), Behaviour(body=last))
        env = _env(tmp_path, DIPSEEK_API_KEY=KEY, DIPSEEK_ENDPOINT=llm.url)
        async with await Hub.open(env) as hub:
            reply = await hub.reply(
                1, "Roll a die; I guess 4", "deepseek-v4-flash", tools=[load_capability]
            )
    assert reply.text.startswith("🎉 **Congratulations, Anne!**")
    assert (
        reply.reasoning
        == "The player's name is Anne, and the die rolled a 4. The user guessed 4, so they win!"
    )
    assert reply.usage.prompt_tokens == 563 + 976
    assert reply.usage.cached_tokens == 512 + 896
    assert reply.cost is not None
    assert reply.cost > 0


async def test_a_real_deepseek_streamed_tool_call_is_joined_from_its_pieces(tmp_path: Path) -> None:
    seen.clear()
    sse = (FIXTURES / "dipseek" / "chat-tool-call-stream.sse").read_bytes()
    async with FakeOpenAIServer(api_key=KEY) as llm:
        llm.then(Behaviour(sse=sse), Behaviour(text="It is 72F."))
        env = _env(tmp_path, DIPSEEK_API_KEY=KEY, DIPSEEK_ENDPOINT=llm.url)
        async with (
            await Hub.open(env) as hub,
            hub.stream_reply(1, "Weather in SF?", "deepseek-reasoner", tools=[weather]) as stream,
        ):
            text = "".join([piece async for piece in stream])
        sent = llm.requests[1]["messages"]
    assert seen == [("weather", {"location": "San Francisco"})]
    assert text == "It is 72F."
    assert sent[-2]["tool_calls"][0]["id"] == "call_00_ioIn7yN9p1ZOMNpDLwd4MgAF"
    assert sent[-2]["reasoning_content"]  # its thinking, streamed before the call, goes back
    assert stream.reply is not None
    assert stream.reply.usage.reasoning_tokens == 39


async def test_a_real_gemini_function_call_keeps_its_thought_signature(tmp_path: Path) -> None:
    seen.clear()
    data = json.loads(
        (FIXTURES / "gemini" / "vertex-unexpected-tool-call-completion.json").read_text()
    )
    # The gRPC wire carries the finish reason as its number (15), newer than the SDK's enum.
    data["candidates"][0]["finishReason"] = 15
    raw = json_format.ParseDict(data, v1.GenerateContentResponse.pb()(), ignore_unknown_fields=True)
    signature = data["candidates"][0]["content"]["parts"][0]["thoughtSignature"]
    async with FakePredictionService() as fake:
        fake.then(Step(response=v1.GenerateContentResponse.wrap(raw)), Step(text="One file: a.txt"))
        env = _env(tmp_path, GEMINI_PROJECT="proj-1", GEMINI_ENDPOINT=fake.target)
        async with await Hub.open(env) as hub:
            reply = await hub.reply(1, "What files?", "gemini-3-flash-preview", tools=[list_files])
        second = json_format.MessageToDict(v1.GenerateContentRequest.pb(fake.requests[1]))
    assert seen == [("list_files", {})]
    assert reply.text == "One file: a.txt"
    call_part = second["contents"][-2]["parts"][0]
    assert call_part["functionCall"]["name"] == "list_files"
    assert call_part["thoughtSignature"] == signature
