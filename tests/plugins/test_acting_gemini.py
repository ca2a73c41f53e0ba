"""Apps that act, on Gemini through the fake gRPC PredictionService: function
declarations and calls, thought signatures sent back, a JSON schema, thinking
budgets and text embeddings, as Vertex AI takes them."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform_v1 as v1
from google.protobuf import json_format
from pydantic import BaseModel

from llmhub import GenerationOptions, Hub, ToolCallEvent, ToolResultEvent, UnsupportedOptionError
from tests.fakes.gemini_server import FakePredictionService, Step

MODEL = "gemini-2.5-flash"


@pytest.fixture
async def fake() -> AsyncIterator[FakePredictionService]:
    async with FakePredictionService() as server:
        yield server


@pytest.fixture
async def hub(fake: FakePredictionService, tmp_path: Path) -> AsyncIterator[Hub]:
    env = {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'gemini.db'}",
        "LLMHUB_MAX_RETRIES": "0",
        "GEMINI_PROJECT": "proj-1",
        "GEMINI_ENDPOINT": fake.target,
    }
    async with await Hub.open(env) as opened:
        yield opened


def weather(city: str, days: int = 1) -> str:
    """The weather in a city.

    Args:
        city: The city's name.
        days: Days ahead.
    """
    return f"{city}: sunny for {days} day(s)"


def read_page(url: str) -> str:
    """Read a web page."""
    raise TimeoutError(f"{url} took too long")


def _as_dict(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(type(message).pb(message))


async def test_a_tool_loop_of_two_rounds_with_parallel_calls_and_a_tool_that_raises(
    hub: Hub, fake: FakePredictionService
) -> None:
    fake.then(
        Step(
            function_calls=[
                {"name": "weather", "args": {"city": "Paris", "days": 2}},
                {"name": "weather", "args": {"city": "Oslo"}},
            ],
            signature=b"sig-round-1",
        ),
        Step(function_calls=[{"name": "read_page", "args": {"url": "http://x"}}]),
        Step(text="Both sunny; the page timed out."),
    )
    reply = await hub.reply(1, "Paris and Oslo?", MODEL, tools=[weather, read_page])
    assert reply.text == "Both sunny; the page timed out."
    assert [r.output for r in reply.steps[0].results] == [
        "Paris: sunny for 2 day(s)",  # 2.0 from protobuf's Struct, back to 2
        "Oslo: sunny for 1 day(s)",
    ]
    assert reply.steps[1].results[0].is_error
    first, second, third = (_as_dict(r) for r in fake.requests)
    declared = first["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declared] == ["weather", "read_page"]
    assert declared[0]["parametersJsonSchema"]["required"] == ["city"]
    model_turn, answers = second["contents"][-2:]
    assert model_turn["role"] == "model"
    assert [p["functionCall"]["name"] for p in model_turn["parts"]] == ["weather", "weather"]
    # The thought signature goes back with each call, as Gemini 3 requires.
    assert {p["thoughtSignature"] for p in model_turn["parts"]} == {
        base64.b64encode(b"sig-round-1").decode()
    }
    assert answers["role"] == "user"  # both results in one turn
    assert [p["functionResponse"]["response"]["output"] for p in answers["parts"]] == [
        "Paris: sunny for 2 day(s)",
        "Oslo: sunny for 1 day(s)",
    ]
    error = third["contents"][-1]["parts"][0]["functionResponse"]["response"]["output"]
    assert error == "TimeoutError: http://x took too long"
    assert reply.usage.prompt_tokens == 10 + 10 + 4  # three calls, added up


async def test_a_streamed_function_call_is_shown_then_the_answer_streams(
    hub: Hub, fake: FakePredictionService
) -> None:
    fake.then(
        Step(function_calls=[{"name": "weather", "args": {"city": "Rome"}}]),
        Step(text="Rome is sunny."),
    )
    events = []
    async with hub.stream_reply(2, "Rome?", MODEL, tools=[weather]) as stream:
        async for event in stream.events():
            events.append(event)
    assert isinstance(events[0], ToolCallEvent)
    assert events[0].call.name == "weather"
    assert isinstance(events[1], ToolResultEvent)
    assert events[1].result.output == "Rome: sunny for 1 day(s)"
    assert "".join(e for e in events if isinstance(e, str)) == "Rome is sunny."


@pytest.mark.parametrize(
    ("choice", "mode", "names"),
    [("required", "ANY", None), ("none", "NONE", None), ("weather", "ANY", ["weather"])],
)
async def test_tool_choice_becomes_the_function_calling_mode(
    hub: Hub, fake: FakePredictionService, choice: str, mode: str, names: list[str] | None
) -> None:
    fake.then(Step(text="ok"))
    await hub.reply(3, "hi", MODEL, tools=[weather], tool_choice=choice)
    config = _as_dict(fake.requests[0])["toolConfig"]["functionCallingConfig"]
    assert config["mode"] == mode
    assert config.get("allowedFunctionNames") == names


class Capital(BaseModel):
    country: str
    city: str


async def test_a_structured_reply_sends_the_json_schema(
    hub: Hub, fake: FakePredictionService
) -> None:
    fake.then(Step(text='{"country": "Italy", "city": "Rome"}'))
    capital = await hub.generate_reply(4, "Capital of Italy?", MODEL, output=Capital)
    assert capital == Capital(country="Italy", city="Rome")
    config = _as_dict(fake.requests[0])["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["required"] == ["country", "city"]


@pytest.mark.parametrize(
    ("reasoning", "budget"), [("off", 0), ("low", 1024), ("high", 24576), (3000, 3000)]
)
async def test_reasoning_becomes_a_thinking_budget(
    hub: Hub, fake: FakePredictionService, reasoning: str | int, budget: int
) -> None:
    await hub.reply(5, "Think", MODEL, options=GenerationOptions(reasoning=reasoning))  # type: ignore[arg-type]
    thinking = _as_dict(fake.requests[0])["generationConfig"]["thinkingConfig"]
    assert thinking.get("thinkingBudget", 0) == budget
    assert thinking.get("includeThoughts", False) is (budget != 0)


async def test_gemini_pro_cannot_stop_thinking_and_says_so(
    hub: Hub, fake: FakePredictionService
) -> None:
    with pytest.raises(UnsupportedOptionError, match="does not take reasoning='off'"):
        await hub.reply(6, "hi", "gemini-2.5-pro", options=GenerationOptions(reasoning="off"))
    assert fake.requests == []


async def test_texts_are_embedded_in_batches_the_api_takes_and_logged(
    hub: Hub, fake: FakePredictionService, tmp_path: Path
) -> None:
    texts = ["alpha beta", "gamma", "delta epsilon zeta"]
    result = await hub.embed(texts, "gemini-embedding-001")
    assert len(fake.predictions) == 3  # one text a request for gemini-embedding-001
    assert result.vectors == [
        [10.0, 97.0, 108.0, 112.0],
        [5.0, 103.0, 97.0, 109.0],
        [18.0, 100.0, 101.0, 108.0],
    ]
    assert result.usage.prompt_tokens == 6
    assert result.cost == pytest.approx(6 * 0.15 / 1e6)
    fake.predictions.clear()
    many = [f"text {n}" for n in range(300)]
    batched = await hub.embed(many, "text-embedding-005")
    assert [len(_as_dict(p)["instances"]) for p in fake.predictions] == [250, 50]
    assert batched.vectors[299][0] == float(len("text 299"))
    assert batched.cost is None  # billed per character: no per-token price
    rows = await hub.store.fetch(
        "SELECT model, inputs, status, prompt_tokens FROM embeddings ORDER BY created_at"
    )
    assert [(r["model"], r["inputs"], r["status"]) for r in rows] == [
        ("gemini-embedding-001", 3, "ok"),
        ("text-embedding-005", 300, "ok"),
    ]
    assert json.loads(json.dumps(rows[0]["prompt_tokens"])) == 6


async def test_a_newer_finish_reason_is_a_name_never_an_outage(
    hub: Hub, fake: FakePredictionService
) -> None:
    response = v1.GenerateContentResponse(
        candidates=[v1.Candidate(content=v1.Content(role="model", parts=[v1.Part(text="done")]))]
    )
    raw = v1.GenerateContentResponse.pb(response)
    raw.candidates[0].finish_reason = 15  # UNEXPECTED_TOOL_CALL: newer than the SDK's enum
    fake.then(Step(response=v1.GenerateContentResponse.wrap(raw)))
    reply = await hub.reply(7, "hi", MODEL)
    assert (reply.text, reply.finish_reason) == ("done", "unexpected_tool_call")
