"""Apps that act, on Mistral and DeepSeek against the local OpenAI-style server:
tool loops, structured replies, reasoning control and caller-owned history, as
each API takes them on the wire."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from llmhub import (
    GenerationOptions,
    Hub,
    Message,
    OutputValidationError,
    ReasoningEvent,
    ToolCallEvent,
    ToolResultEvent,
    UnsupportedOptionError,
)
from llmhub.testing.openai_server import Behaviour, FakeOpenAIServer

KEY = "sk-acting-0a1b2c3d4e5f"
MODELS = {"mistral": "mistral-small-latest", "dipseek": "deepseek-v4-flash"}


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(api_key=KEY) as fake:
        yield fake


@pytest.fixture
async def hub(server: FakeOpenAIServer, tmp_path: Path) -> AsyncIterator[Hub]:
    env = {
        "LLMHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'acting.db'}",
        "LLMHUB_MAX_RETRIES": "0",
        "MISTRAL_API_KEY": KEY,
        "MISTRAL_ENDPOINT": server.url,
        "DIPSEEK_API_KEY": KEY,
        "DIPSEEK_ENDPOINT": server.url,
    }
    async with await Hub.open(env) as opened:
        yield opened


calls_made: list[str] = []


def weather(city: str) -> str:
    """The weather now in a city.

    Args:
        city: The city's name.
    """
    calls_made.append(city)
    return f"{city}: sunny, 21 C"


def read_page(url: str) -> str:
    """Read a web page."""
    raise ConnectionError(f"cannot reach {url}")


def _rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(tmp_path / "acting.db")) as db:
        return db.execute(sql).fetchall()


def _script_two_rounds(server: FakeOpenAIServer) -> None:
    server.then(
        Behaviour(
            tool_calls=[
                {"id": "call_paris_0001", "name": "weather", "arguments": {"city": "Paris"}},
                {"id": "call_oslo_00002", "name": "weather", "arguments": {"city": "Oslo"}},
            ],
            reasoning="Two cities: ask for both at once.",
        ),
        Behaviour(
            tool_calls=[
                {"id": "call_page_00003", "name": "read_page", "arguments": {"url": "http://x"}}
            ]
        ),
        Behaviour(text="Paris and Oslo are sunny; the page could not be read."),
    )


@pytest.mark.parametrize("provider", ["mistral", "dipseek"])
async def test_a_tool_loop_of_two_rounds_with_parallel_calls_and_a_tool_that_raises(
    hub: Hub, server: FakeOpenAIServer, tmp_path: Path, provider: str
) -> None:
    calls_made.clear()
    _script_two_rounds(server)
    reply = await hub.reply(
        1, "Weather in Paris and Oslo?", MODELS[provider], tools=[weather, read_page]
    )

    assert reply.text == "Paris and Oslo are sunny; the page could not be read."
    assert sorted(calls_made) == ["Oslo", "Paris"]
    assert [len(step.calls) for step in reply.steps] == [2, 1]
    assert reply.steps[1].results[0].is_error
    assert reply.usage.prompt_tokens is not None
    assert reply.usage.prompt_tokens > 0
    assert len(server.requests) == 3
    first, second, third = server.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["weather", "read_page"]
    assert first["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assistant, *results = second["messages"][-3:]
    assert assistant["role"] == "assistant"
    assert [c["function"]["name"] for c in assistant["tool_calls"]] == ["weather", "weather"]
    assert [r["content"] for r in results] == ["Paris: sunny, 21 C", "Oslo: sunny, 21 C"]
    # Each result answers its own call, by the id the wire sent it under.
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in assistant["tool_calls"]]
    if provider == "mistral":  # Mistral takes 9 letters and digits only
        assert all(len(c["id"]) == 9 and c["id"].isalnum() for c in assistant["tool_calls"])
    else:  # DeepSeek's thinking mode needs its reasoning back inside a tool loop
        assert assistant["reasoning_content"] == "Two cities: ask for both at once."
    assert third["messages"][-1]["content"] == "ConnectionError: cannot reach http://x"

    logged = _rows(
        tmp_path,
        "SELECT step, seq, name, output, is_error, duration_ms FROM tool_calls ORDER BY step, seq",
    )
    assert [(s, q, n, e) for s, q, n, _, e, _ in logged] == [
        (0, 0, "weather", 0),
        (0, 1, "weather", 0),
        (1, 0, "read_page", 1),
    ]
    assert all(duration is not None and duration >= 0 for *_, duration in logged)
    [(status, text)] = _rows(tmp_path, "SELECT status, text FROM responses")
    assert (status, text) == ("ok", reply.text)

    # The chat's next call sends the rounds again, as the provider needs them.
    await hub.reply(1, "And tomorrow?", MODELS[provider], tools=[weather, read_page])
    roles = [m["role"] for m in server.requests[-1]["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant", "tool", "assistant", "user"]


@pytest.mark.parametrize("provider", ["mistral", "dipseek"])
async def test_a_streamed_tool_call_shows_its_round_and_streams_the_answer(
    hub: Hub, server: FakeOpenAIServer, provider: str
) -> None:
    server.then(
        Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Rome, Lazio, Italy"}}]),
        Behaviour(text="Rome is sunny."),
    )
    events = []
    async with hub.stream_reply(2, "Rome?", MODELS[provider], tools=[weather]) as stream:
        async for event in stream.events():
            events.append(event)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["ToolCallEvent", "ToolResultEvent", "str", "str", "str"]
    call = events[0]
    assert isinstance(call, ToolCallEvent)
    assert call.call.name == "weather"
    assert call.call.args() == {"city": "Rome, Lazio, Italy"}  # whole, not its first piece
    result = events[1]
    assert isinstance(result, ToolResultEvent)
    assert result.result.output == "Rome, Lazio, Italy: sunny, 21 C"  # arguments joined from pieces
    assert "".join(e for e in events if isinstance(e, str)) == "Rome is sunny."
    assert stream.reply is not None
    assert len(stream.reply.steps) == 1


async def test_a_reasoning_stream_yields_the_thoughts_as_events_before_the_words(
    hub: Hub, server: FakeOpenAIServer
) -> None:
    server.then(Behaviour(text="Yes.", reasoning="Let me weigh both sides."))
    async with hub.stream_reply(4, "Sure?", MODELS["dipseek"]) as stream:
        events = [event async for event in stream.events()]
    thoughts = [e for e in events if isinstance(e, ReasoningEvent)]
    assert "".join(t.text for t in thoughts) == "Let me weigh both sides."
    assert events.index(thoughts[-1]) < events.index("Yes.")
    assert stream.reply is not None
    assert stream.reply.reasoning == "Let me weigh both sides."
    assert stream.reply.text == "Yes."  # the thoughts are never in the text
    server.then(Behaviour(text="Yes.", reasoning="Again."))
    async with hub.stream_reply(5, "Sure?", MODELS["dipseek"]) as plain:
        assert [piece async for piece in plain] == ["Yes."]  # plain iteration: text only


async def test_plain_iteration_of_a_tool_stream_yields_text_only(
    hub: Hub, server: FakeOpenAIServer
) -> None:
    server.then(
        Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Rome"}}]),
        Behaviour(text="Sunny."),
    )
    async with hub.stream_reply(3, "Rome?", MODELS["mistral"], tools=[weather]) as stream:
        pieces = [piece async for piece in stream]
    assert pieces == ["Sunny."]


@pytest.mark.parametrize("stream", [False, True])
async def test_calls_come_back_unrun_for_apps_that_run_tools_themselves(
    hub: Hub, server: FakeOpenAIServer, tmp_path: Path, stream: bool
) -> None:
    calls_made.clear()
    server.then(
        Behaviour(tool_calls=[{"id": "c1", "name": "weather", "arguments": {"city": "Lima"}}])
    )
    if stream:
        async with hub.stream_reply(
            4, "Lima?", MODELS["dipseek"], tools=[weather], run_tools=False
        ) as s:
            async for _ in s:
                pass
        reply = s.reply
        assert reply is not None
    else:
        reply = await hub.reply(4, "Lima?", MODELS["dipseek"], tools=[weather], run_tools=False)
    assert calls_made == []
    assert len(server.requests) == 1
    [call] = reply.tool_calls
    assert (call.name, call.args()) == ("weather", {"city": "Lima"})
    assert _rows(tmp_path, "SELECT name, output FROM tool_calls") == [("weather", None)]

    # The app runs it and continues the exchange with its own history.
    server.then(Behaviour(text="Lima is cloudy."))
    history = [
        Message("user", "Lima?"),
        Message("assistant", "", tool_calls=reply.tool_calls),
        Message("tool", "cloudy", tool_call_id=call.id, name=call.name),
    ]
    final = await hub.reply(4, "", MODELS["dipseek"], tools=[weather], history=history)
    assert final.text == "Lima is cloudy."
    assert [m["role"] for m in server.requests[-1]["messages"]] == ["user", "assistant", "tool"]


async def test_after_max_tool_steps_the_model_must_answer(
    hub: Hub, server: FakeOpenAIServer
) -> None:
    again = Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Kyiv"}}])
    server.then(again, again, Behaviour(text="Enough."))
    reply = await hub.reply(5, "Loop", MODELS["mistral"], tools=[weather], max_tool_steps=2)
    assert reply.text == "Enough."
    assert [r.get("tool_choice") for r in server.requests] == [None, None, "none"]


async def test_tool_choice_goes_on_the_wire_and_a_named_one_must_exist(
    hub: Hub, server: FakeOpenAIServer
) -> None:
    server.then(
        Behaviour(tool_calls=[{"name": "weather", "arguments": {"city": "Bern"}}]),
        Behaviour(text="ok"),
    )
    await hub.reply(6, "Bern", MODELS["mistral"], tools=[weather], tool_choice="weather")
    assert server.requests[0]["tool_choice"] == {
        "type": "function",
        "function": {"name": "weather"},
    }
    assert server.requests[1]["tool_choice"] == "auto"  # a forced call is forced once
    sent = len(server.requests)
    with pytest.raises(UnsupportedOptionError, match="names no tool"):
        await hub.reply(6, "Bern", MODELS["mistral"], tools=[weather], tool_choice="search")
    assert len(server.requests) == sent


class Capital(BaseModel):
    country: str
    city: str


@pytest.mark.parametrize("provider", ["mistral", "dipseek"])
async def test_a_structured_reply_is_asked_for_natively_or_by_instructions(
    hub: Hub, server: FakeOpenAIServer, provider: str
) -> None:
    server.then(Behaviour(text='{"country": "France", "city": "Paris"}'))
    capital = await hub.generate_reply(7, "Capital of France?", MODELS[provider], output=Capital)
    assert capital == Capital(country="France", city="Paris")
    body = server.requests[0]
    if provider == "mistral":
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == "Capital"
        assert fmt["json_schema"]["schema"]["additionalProperties"] is False
        assert fmt["json_schema"]["strict"] is True
    else:  # JSON mode, the schema in the instructions
        assert body["response_format"] == {"type": "json_object"}
        assert body["messages"][0]["role"] == "system"
        assert '"required": ["country", "city"]' in body["messages"][0]["content"]


async def test_a_reply_off_the_schema_is_asked_for_once_more_then_refused(
    hub: Hub, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    server.then(
        Behaviour(text='{"country": "France"}'),
        Behaviour(text='{"country": "France", "city": "Paris"}'),
    )
    reply = await hub.reply(8, "Capital?", MODELS["dipseek"], output=Capital)
    assert reply.parsed == Capital(country="France", city="Paris")
    correction = server.requests[1]["messages"][-1]["content"]
    assert "city: Field required" in correction

    server.then(Behaviour(text="Paris, of course."), Behaviour(text="It is Paris."))
    with pytest.raises(OutputValidationError) as caught:
        await hub.reply(8, "Capital?", MODELS["dipseek"], output=Capital)
    assert caught.value.text == "It is Paris."
    assert caught.value.request_id is not None
    [(status, text, error_type)] = _rows(
        tmp_path,
        f"SELECT status, text, error_type FROM responses WHERE request_id = '{caught.value.request_id}'",
    )
    assert (status, text, error_type) == ("error", "It is Paris.", "OutputValidationError")


@pytest.mark.parametrize(
    ("model", "reasoning", "sent"),
    [
        ("magistral-medium-latest", "off", {"reasoning_effort": "none"}),
        ("mistral-small-latest", "high", {"reasoning_effort": "high"}),
        ("deepseek-v4-flash", "off", {"thinking": {"type": "disabled"}}),
        ("deepseek-v4-pro", "low", {"thinking": {"type": "enabled"}, "reasoning_effort": "low"}),
    ],
)
async def test_reasoning_is_mapped_to_each_providers_own_setting(
    hub: Hub, server: FakeOpenAIServer, model: str, reasoning: str, sent: dict[str, Any]
) -> None:
    await hub.reply(9, "Think", model, options=GenerationOptions(reasoning=reasoning))  # type: ignore[arg-type]
    body = server.requests[-1]
    assert {key: body[key] for key in sent} == sent


@pytest.mark.parametrize(
    ("model", "reasoning", "says"),
    [
        ("magistral-medium-latest", "low", "it takes off, high"),
        ("deepseek-v4-flash", 4096, "it takes off, low, medium, high"),
        ("codestral-latest", "high", "none: its reasoning is not adjustable"),
    ],
)
async def test_a_reasoning_value_the_model_cannot_honour_is_refused_before_sending(
    hub: Hub, server: FakeOpenAIServer, model: str, reasoning: str | int, says: str
) -> None:
    with pytest.raises(UnsupportedOptionError, match=says):
        await hub.reply(10, "Think", model, options=GenerationOptions(reasoning=reasoning))  # type: ignore[arg-type]
    assert server.requests == []


async def test_a_call_without_context_or_with_the_callers_history_reads_no_log(
    hub: Hub, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    await hub.reply(11, "first", MODELS["mistral"])
    await hub.reply(11, "second", MODELS["mistral"], context=False)
    assert [m["content"] for m in server.requests[-1]["messages"]] == ["second"]
    history = [Message.user("Who are you?"), Message.assistant("A bot.")]
    await hub.reply(11, "third", MODELS["mistral"], history=history, system="Be brief.")
    assert [m["content"] for m in server.requests[-1]["messages"]] == [
        "Be brief.",
        "Who are you?",
        "A bot.",
        "third",
    ]
    # Still logged, every one.
    assert _rows(tmp_path, "SELECT COUNT(*) FROM requests") == [(3,)]


async def test_mistral_embeds_in_batches_in_order_and_logs_each_call(
    hub: Hub, server: FakeOpenAIServer, tmp_path: Path
) -> None:
    texts = [f"text number {n}" for n in range(300)]
    result = await hub.embed(texts, "mistral-embed")
    assert [len(r["input"]) for r in server.requests] == [256, 44]  # the API's 256 a request
    assert len(result.vectors) == 300
    assert result.vectors[0] == [13.0, 116.0, 101.0, 120.0]  # in the texts' order
    assert result.vectors[299][0] == float(len("text number 299"))
    assert result.usage.prompt_tokens == 900
    assert result.cost == pytest.approx(900 * 0.1 / 1e6)
    assert _rows(
        tmp_path, "SELECT provider, model, inputs, prompt_tokens, status FROM embeddings"
    ) == [("mistral", "mistral-embed", 300, 900, "ok")]


async def test_embedding_with_a_chat_model_or_a_provider_without_any_is_refused(
    hub: Hub, server: FakeOpenAIServer
) -> None:
    with pytest.raises(UnsupportedOptionError, match="embedding models: mistral/mistral-embed"):
        await hub.embed(["x"], "mistral-small-latest")
    with pytest.raises(UnsupportedOptionError, match="dipseek has none"):
        await hub.embed(["x"], "deepseek-chat")
    with pytest.raises(UnsupportedOptionError, match="use embed"):
        await hub.reply(12, "hi", "mistral-embed")
    with pytest.raises(TypeError, match="list of texts"):
        await hub.embed("one text", "mistral-embed")
    assert server.requests == []
